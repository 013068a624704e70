"""POST /payments/api/: a lender's system pushes the payments it received (JSON rows, or a CSV/XLSX
file), with the same checks and idempotency as the import page (the reference is the natural key:
sending a payment twice records it once). POST /payments/api/reversals/: it reverses one (冲正, e.g.
the bank returned it), idempotent too: the same reversal sent again answers with the one recorded.
Authenticated by an integration token of this lender, or a signed-in finance/admin session."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import access
from portal.intake.api import IntegrationThrottle, IntegrationTokenAuthentication, RawJSONParser, token_lacks_scope
from portal.intake.models import IntegrationToken, TokenScope
from portal.lib import uploads

from . import importing, services
from .models import Payment, PaymentReversal, PaymentSource, ReversalReason

TRUE_WORDS = {"1", "true", "yes", "on"}


class LenderMay(BasePermission):
    """The lender's own system (its integration token, with ``scope``), or its staff in a role allowed ``action``."""

    action = ""
    scope = ""

    def has_permission(self, request, view):
        if isinstance(request.auth, IntegrationToken):
            return not token_lacks_scope(self, request, self.scope)
        principal = access.principal_for(request.user, getattr(request, "tenant", None))
        return principal is not None and principal.is_lender_staff and access.can(principal, self.action)


class CanRecordPayments(LenderMay):
    action = "payment.record"
    scope = TokenScope.PAYMENTS


class CanReversePayments(LenderMay):
    action = "payment.reverse"
    scope = TokenScope.REVERSALS  # a separate scope: a reversal takes money off a case (冲正)


class PaymentRowSerializer(serializers.Serializer):
    contract_no = serializers.CharField()
    paid_on = serializers.CharField(help_text="YYYY-MM-DD")
    amount = serializers.CharField(help_text="Yuan, at most two decimals, as a string or number.")
    reference = serializers.CharField(help_text="The lender's reference (bank serial no.); unique per payment.")
    note = serializers.CharField(required=False, allow_blank=True)


class RejectedSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Row number: the header is row 1 (for JSON rows, list index + 2).")
    column = serializers.CharField()
    message = serializers.CharField()


class PaymentVerdictSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    valid = serializers.IntegerField()
    created = serializers.IntegerField(help_text="Payments recorded by this call.")
    existing = serializers.IntegerField(help_text="Payments sent before (same reference, case, amount and date): not recorded again.")
    rejected = RejectedSerializer(many=True)
    file_error = serializers.CharField(help_text="Why the body as a whole could not be read (empty when it could).")


class PaymentImportView(APIView):
    authentication_classes = [IntegrationTokenAuthentication, SessionAuthentication]
    permission_classes = [CanRecordPayments]
    throttle_classes = [IntegrationThrottle]
    parser_classes = [RawJSONParser, MultiPartParser]

    def initial(self, request, *args, **kwargs):
        uploads.cap_api_uploads(request, importing.MAX_BYTES)  # before anything (session CSRF too) reads the body
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="payments_push",
        request={"application/json": PaymentRowSerializer(many=True)},
        parameters=[OpenApiParameter("dry_run", bool, description="Only check; record nothing.")],
        responses={
            200: PaymentVerdictSerializer,
            400: OpenApiResponse(PaymentVerdictSerializer, description="The body could not be read."),
        },
    )
    def post(self, request):
        dry_run = request.query_params.get("dry_run", "").lower() in TRUE_WORDS
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        if upload is not None:
            result = importing.check_and_record(upload.read(importing.MAX_BYTES + 1), commit=not dry_run, source=PaymentSource.API)
        else:
            result = importing.check_and_record(
                request.data if isinstance(request.data, bytes) else b"", commit=not dry_run, json_rows=True, source=PaymentSource.API
            )
        code = status.HTTP_400_BAD_REQUEST if result.file_error else status.HTTP_200_OK
        return Response(result.as_dict(), status=code)


class ReversalRequestSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=64, help_text="The reference of the payment recorded before.")
    reason = serializers.ChoiceField(choices=ReversalReason.choices)
    reversed_on = serializers.DateField(required=False, help_text="YYYY-MM-DD; today (Asia/Shanghai) when left out.")
    note = serializers.CharField(max_length=300, help_text="Why, in words (e.g. the bank's return code).")


class ReversalResultSerializer(serializers.Serializer):
    reference = serializers.CharField()
    reason = serializers.CharField()
    reversed_on = serializers.DateField()
    created = serializers.BooleanField(help_text="False when this reversal had been recorded before (a resend).")


class ReversalErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text='The request field at fault, or "reference".')
    code = serializers.CharField()
    message = serializers.CharField()


def _result(reversal: PaymentReversal, *, created: bool) -> Response:
    return Response(
        {
            "reference": reversal.payment.reference,
            "reason": reversal.reason,
            "reversed_on": reversal.reversed_on.isoformat(),
            "created": created,
        },
        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


def _error(field: str, code: str, message: str, http_status: int) -> Response:
    return Response({"field": field, "code": code, "message": str(message)}, status=http_status)


class PaymentReversalView(APIView):
    authentication_classes = [IntegrationTokenAuthentication, SessionAuthentication]
    permission_classes = [CanReversePayments]
    throttle_classes = [IntegrationThrottle]

    @extend_schema(
        operation_id="payments_reverse",
        request=ReversalRequestSerializer,
        responses={
            201: ReversalResultSerializer,
            200: OpenApiResponse(ReversalResultSerializer, description="Sent before: the reversal already recorded, unchanged."),
            400: OpenApiResponse(ReversalErrorSerializer, description="A field is missing or wrong."),
            404: OpenApiResponse(ReversalErrorSerializer, description="No payment has this reference."),
            409: OpenApiResponse(ReversalErrorSerializer, description="The payment was reversed before, differently."),
        },
    )
    def post(self, request):
        form = ReversalRequestSerializer(data=request.data)
        if not form.is_valid():
            field, problems = next(iter(form.errors.items()))
            return _error(field, problems[0].code, problems[0], status.HTTP_400_BAD_REQUEST)
        data = form.validated_data
        payment = Payment.objects.filter(reference=data["reference"].strip()).first()
        if payment is None:
            return _error(
                "reference",
                "not_found",
                _("No payment has reference %(reference)s.") % {"reference": data["reference"]},
                status.HTTP_404_NOT_FOUND,
            )
        by_system = isinstance(request.auth, IntegrationToken)  # the lender's system: no person to name
        try:
            # The service decides: a resend answers with the reversal recorded (200), a different one is a conflict (409).
            reversal, created = services.reverse_payment_idempotent(
                payment=payment,
                reason=data["reason"],
                note=data["note"],
                reversed_on=data.get("reversed_on"),
                reversed_by=None if by_system else request.user,
                request=request,
            )
        except ValidationError as error:
            if error.code == "conflict":
                return _error("reference", "already_reversed", error.messages[0], status.HTTP_409_CONFLICT)
            field = {"note": "note", "reason": "reason", "future": "reversed_on", "before_payment": "reversed_on"}.get(
                error.code, "reference"
            )
            return _error(field, error.code, error.messages[0], status.HTTP_400_BAD_REQUEST)
        return _result(reversal, created=created)
