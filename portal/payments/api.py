"""POST /payments/api/: a lender's system pushes the payments it received (JSON rows, or a CSV/XLSX
file), with the same checks and idempotency as the import page (the reference is the natural key:
sending a payment twice records it once). Authenticated by an integration token of this lender, or a
signed-in finance/admin session."""
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import access
from portal.intake.api import IntegrationThrottle, IntegrationTokenAuthentication, RawJSONParser
from portal.intake.models import IntegrationToken

from . import importing

TRUE_WORDS = {"1", "true", "yes", "on"}


class CanRecordPayments(BasePermission):
    def has_permission(self, request, view):
        if isinstance(request.auth, IntegrationToken):
            return True
        principal = access.principal_for(request.user, getattr(request, "tenant", None))
        return principal is not None and principal.is_lender_staff and access.can(principal, "payment.record")


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
    authentication_classes = [IntegrationTokenAuthentication]
    permission_classes = [CanRecordPayments]
    throttle_classes = [IntegrationThrottle]
    parser_classes = [RawJSONParser, MultiPartParser]

    @extend_schema(
        operation_id="payments_push",
        request={"application/json": PaymentRowSerializer(many=True)},
        parameters=[OpenApiParameter("dry_run", bool, description="Only check; record nothing.")],
        responses={200: PaymentVerdictSerializer, 400: OpenApiResponse(PaymentVerdictSerializer, description="The body could not be read.")},
    )
    def post(self, request):
        dry_run = request.query_params.get("dry_run", "").lower() in TRUE_WORDS
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        if upload is not None:
            result = importing.check_and_record(upload.read(importing.MAX_BYTES + 1), commit=not dry_run)
        else:
            result = importing.check_and_record(request.data if isinstance(request.data, bytes) else b"", commit=not dry_run, json_rows=True)
        code = status.HTTP_400_BAD_REQUEST if result.file_error else status.HTTP_200_OK
        return Response(result.as_dict(), status=code)
