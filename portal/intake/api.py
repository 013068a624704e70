"""The integration API: a lender's own system pushes cases (DRF, OpenAPI by drf-spectacular).

Authentication is explicit on every view (the project sets no defaults):
an integration token (`Authorization: Token <key>`), looked up in the
schema of the host the request came to, or the session of a signed-in
lender employee allowed to import cases. The same service functions as the
page and the command do the work, so the verdict is the same everywhere.
"""

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from portal import access
from portal.jobs.models import Job
from portal.lib import uploads

from . import services
from .columns import COLUMNS
from .errors import IntakeError
from .models import BatchSource, BatchStatus, ImportBatch, IntegrationToken, TokenScope
from .tokens import check_key

# Above this size a request is checked (and committed) in the background: 202 and a status URL.
SYNC_MAX_BYTES = 1024 * 1024
TRUE_WORDS = {"1", "true", "yes", "on"}


# ---------------------------------------------------------------- who is calling


class IntegrationClient:
    """request.user for a token: the lender's system, not a person."""

    is_authenticated = True
    is_active = True
    pk = None

    def __init__(self, token: IntegrationToken):
        self.token = token

    @property
    def email(self):
        return f"token:{self.token.prefix}"

    def __str__(self):
        return self.email


class IntegrationTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <key>`, found by its hash in the current lender's schema only."""

    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send the token as: Authorization: Token <key>."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token.")) from None
        if connection.schema_name == "public":  # tokens belong to a lender's host
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        token, refusal = check_key(key)
        if refusal == "expired":
            raise exceptions.AuthenticationFailed(
                _("This token expired on %(date)s; issue or rotate a token on the Integration tokens page.")
                % {"date": timezone.localtime(token.expires_at).strftime("%Y-%m-%d %H:%M")}
            )
        if refusal:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        return IntegrationClient(token), token

    def authenticate_header(self, request):
        return self.keyword


class IntegrationTokenScheme(OpenApiAuthenticationExtension):
    target_class = IntegrationTokenAuthentication
    name = "IntegrationToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`: a key issued on the lender's Integration tokens page.",
        }


def _principal(request):
    return access.principal_for(request.user, getattr(request, "tenant", None))


def token_lacks_scope(permission: BasePermission, request, scope: str) -> bool:
    """True (with the 403's message set on ``permission``) when the request's token may not use ``scope``."""
    token = request.auth
    if token.allows(scope):
        return False
    permission.message = _("This token may not do this: it lacks the “%(scope)s” scope. Issue a token with that scope.") % {"scope": scope}
    return True


class CanImportCases(BasePermission):
    """A token of this lender with the cases scope, or a signed-in person whose role may import cases here."""

    def has_permission(self, request, view):
        if isinstance(request.auth, IntegrationToken):
            return not token_lacks_scope(self, request, TokenScope.CASES)
        return request.user is not None and access.can(_principal(request), "case.import")


class IsLenderStaffOrToken(BasePermission):
    def has_permission(self, request, view):
        if isinstance(request.auth, IntegrationToken):
            return True
        principal = _principal(request)
        return principal is not None and principal.is_lender_staff


class IntegrationThrottle(SimpleRateThrottle):
    """settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["integration"], per token (or per person)."""

    scope = "integration"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, IntegrationToken):
            ident = f"token-{request.auth.pk}"
        elif request.user is not None and getattr(request.user, "pk", None):
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class RawJSONParser(BaseParser):
    """A JSON body kept as bytes: numbers must become Decimal, never float (parsing.read_table does that)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.MAX_UPLOAD_BYTES
        content = stream.read(limit + 1) if stream is not None else b""
        if len(content) > limit:
            raise exceptions.ParseError(str(IntakeError("too_large", mb=limit // (1024 * 1024))))
        return content


class IntegrationAPIView(APIView):
    authentication_classes = [IntegrationTokenAuthentication, SessionAuthentication]
    permission_classes = [CanImportCases]
    throttle_classes = [IntegrationThrottle]


# ---------------------------------------------------------------- schema pieces

ImportRowSerializer = type(
    "ImportRowSerializer",
    (serializers.Serializer,),
    {
        column.name: serializers.CharField(required=column.required, allow_blank=not column.required, help_text=column.help)
        for column in COLUMNS
    },
)


class ImportRejectedCellSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Row number as in a spreadsheet: the header is row 1 (for JSON rows, list index + 2).")
    column = serializers.CharField(help_text="Canonical column name.")
    message = serializers.CharField(help_text="What is wrong, in the request's language (Accept-Language).")


class ImportVerdictSerializer(serializers.Serializer):
    rows = serializers.IntegerField(help_text="Rows read (blank rows are skipped).")
    valid = serializers.IntegerField(help_text="Rows without any error.")
    created = serializers.IntegerField(help_text="Cases created (0 unless committed).")
    updated = serializers.IntegerField(
        help_text="Existing cases whose data changed (0 unless committed; an identical re-import updates none)."
    )
    rejected = ImportRejectedCellSerializer(many=True, help_text="Every refused cell: a row with two problems appears twice.")


class ImportAcceptedSerializer(serializers.Serializer):
    batch = serializers.UUIDField()
    job = serializers.UUIDField()
    status = serializers.CharField()
    status_url = serializers.CharField()


class ImportStatusSerializer(serializers.Serializer):
    batch = serializers.UUIDField()
    # A plain string: an enum here would become a shared "StatusEnum" component, colliding with other APIs' statuses.
    status = serializers.CharField(help_text=f"One of: {', '.join(BatchStatus.values)}.")
    progress = serializers.IntegerField()
    message = serializers.CharField()
    verdict = ImportVerdictSerializer(allow_null=True, help_text="Once checked (or committed, when commit was asked): the verdict.")
    detail = serializers.CharField(required=False, help_text="Why the file as a whole could not be read.")


class ImportErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8, UTF-8 with BOM, GB18030) or XLSX, in the template's layout.")
    commit = serializers.BooleanField(required=False, help_text="Import the valid rows; otherwise only check.")
    mapping = serializers.CharField(required=False, help_text="Name of a column mapping saved on the import page.")


def _verdict_response(verdict, batch, code=status.HTTP_200_OK):
    response = Response(verdict.as_json(), status=code)
    response["Content-Location"] = f"/intake/api/imports/{batch.pk}/"
    return response


def _error(error: IntakeError, code=status.HTTP_400_BAD_REQUEST):
    return Response({"detail": error.message, "code": error.code}, status=code)


# ---------------------------------------------------------------- endpoints


class CaseImportView(IntegrationAPIView):
    parser_classes = [MultiPartParser, RawJSONParser]

    def initial(self, request, *args, **kwargs):
        uploads.cap_api_uploads(request, settings.MAX_UPLOAD_BYTES)  # before anything (session CSRF too) reads the body
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="import_cases",
        summary="Check, and optionally import, cases",
        description=(
            "Send a file (multipart field `file`) or a JSON list of rows keyed by the template's column names. "
            "The whole file is checked first; with `commit` the valid rows are imported in one transaction "
            "(re-sending a contract number updates that case, never duplicates it). Up to 1 MB the verdict comes "
            "back at once; larger requests return 202 with a status URL."
        ),
        parameters=[
            OpenApiParameter("commit", bool, description="Import the valid rows (also accepted as a multipart field)."),
            OpenApiParameter("mapping", str, description="Name of a saved column mapping (also a multipart field)."),
            OpenApiParameter("async", bool, description="Always answer 202 and work in the background."),
        ],
        request={"multipart/form-data": ImportUploadSerializer, "application/json": ImportRowSerializer(many=True)},
        responses={
            200: ImportVerdictSerializer,
            202: ImportAcceptedSerializer,
            400: ImportErrorSerializer,
            401: OpenApiResponse(description="No token, or an invalid, revoked or expired one."),
            403: OpenApiResponse(description="A token without the cases scope, or signed in but not allowed to import cases."),
        },
    )
    def post(self, request):
        if request.content_type.startswith("multipart/"):
            upload = request.FILES.get("file")
            if upload is None and getattr(request, "upload_too_large", None):  # skipped while streaming, nothing kept
                return _error(
                    IntakeError("too_large", mb=settings.MAX_UPLOAD_BYTES // (1024 * 1024)), code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
                )
            if upload is None:
                return Response(
                    {"detail": _("Send the file in the multipart field “file”."), "code": "no_file"}, status=status.HTTP_400_BAD_REQUEST
                )
            if upload.size > settings.MAX_UPLOAD_BYTES:
                return _error(IntakeError("too_large", mb=settings.MAX_UPLOAD_BYTES // (1024 * 1024)))
            content, name, json_rows = upload.read(), upload.name, False
            options = request.data
        else:
            content, name, json_rows = request.data if isinstance(request.data, bytes) else b"", "api.json", True
            options = request.query_params
        commit = str(options.get("commit", request.query_params.get("commit", ""))).lower() in TRUE_WORDS
        mapping_name = str(options.get("mapping", request.query_params.get("mapping", "")))[:100]
        in_background = len(content) > SYNC_MAX_BYTES or request.query_params.get("async", "").lower() in TRUE_WORDS
        who = {
            "token": request.auth if isinstance(request.auth, IntegrationToken) else None,
            "created_by": None if isinstance(request.auth, IntegrationToken) else request.user,
        }
        try:
            if not in_background:
                batch, verdict = services.import_now(
                    content=content,
                    original_name=name,
                    commit=commit,
                    source=BatchSource.API,
                    json_rows=json_rows,
                    mapping_name=mapping_name,
                    **who,
                )
                return _verdict_response(verdict, batch)
            batch, mapping = services.receive_file(
                content=content,
                original_name=name,
                source=BatchSource.API,
                json_rows=json_rows,
                mapping_name=mapping_name,
                commit_after_validation=commit,
                **who,
            )
            services.require_complete_mapping(batch=batch, mapping=mapping)
        except IntakeError as error:
            return _error(error)
        job = services.start_validation(batch=batch, user=who["created_by"], organisation=getattr(request.tenant, "organisation", None))
        return Response(
            {"batch": str(batch.pk), "job": str(job.pk), "status": batch.status, "status_url": f"/intake/api/imports/{batch.pk}/"},
            status=status.HTTP_202_ACCEPTED,
        )


class ImportStatusView(IntegrationAPIView):
    @extend_schema(
        operation_id="import_status",
        summary="Where an import stands, and its verdict once checked",
        responses={200: ImportStatusSerializer, 404: OpenApiResponse(description="No such import here.")},
    )
    def get(self, request, import_id):
        batch = ImportBatch.objects.filter(pk=import_id).first()
        if batch is None:
            raise exceptions.NotFound
        job = Job.objects.filter(pk=batch.job_id).first() if batch.job_id else None
        # A check asked to commit is finished once committed, or once it is clear it will not be (nothing valid, or the commit failed).
        awaiting_commit = batch.commit_after_validation and batch.status == BatchStatus.VALIDATED and batch.valid and not batch.error
        finished = batch.status in (BatchStatus.VALIDATED, BatchStatus.COMMITTED) and not awaiting_commit
        body = {
            "batch": str(batch.pk),
            "status": batch.status,
            "progress": job.progress if job else (100 if finished else 0),
            "message": job.message if job else "",
            "verdict": services.stored_verdict(batch).as_json() if finished else None,
        }
        if batch.file_error:
            body["detail"] = batch.file_error.message
        return Response(body)


class IntakeSchemaView(SpectacularAPIView):
    """The OpenAPI document, for lender staff and token holders of this lender."""

    authentication_classes = [IntegrationTokenAuthentication, SessionAuthentication]
    permission_classes = [IsLenderStaffOrToken]
