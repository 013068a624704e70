"""The isolation matrix's view of intake: an import, a saved column mapping and an integration token in acme.

Their names carry acme's canary, so any page of another lender or partner that showed them would fail the matrix.
"""

from django.core.files.base import ContentFile
from django_tenants.utils import tenant_context

CONTENT = "contract_no,product,borrower_name\nACME-CANARY-IMPORT-1,随心贷,甲金丝雀\nACME-CANARY-IMPORT-1,随心贷,甲金丝雀\n".encode()


def extend_world(world):
    from portal.intake.models import BatchStatus, ColumnMapping, ImportBatch
    from portal.intake.tokens import issue_token

    with tenant_context(world.lenders["acme"]):
        batch = ImportBatch(
            original_name="ACME-CANARY-import.csv",
            format="csv",
            encoding="utf-8",
            status=BatchStatus.VALIDATED,
            rows=2,
            valid=1,
            would_create=1,
            rejected_total=1,
            headers=["contract_no", "product", "borrower_name"],
            mapping={"contract_no": "contract_no", "product": "product", "borrower_name": "borrower_name"},
            rejected=[{"row": 3, "column": "contract_no", "code": "duplicate", "params": {"value": "ACME-CANARY-IMPORT-1", "first": 2}}],
            created_by_id=world.people["acme_manager"].user.pk,
        )
        batch.file.save("original", ContentFile(CONTENT), save=False)
        batch.save()
        mapping = ColumnMapping.objects.create(name="ACME-CANARY mapping", mapping={"contract_no": "合同号"})
        token, key = issue_token(name="ACME-CANARY core system", created_by=world.people["acme_admin"].user)
    world.intake = {"batch": batch, "mapping": mapping, "token": token, "key": key}


def owner_kwargs(world):
    return {
        "import_id": world.intake["batch"].pk,
        "column_mapping_id": world.intake["mapping"].pk,
        "integration_token_id": world.intake["token"].pk,
    }


# The action guarding each intake URL (see URL_ACTIONS in tests/test_isolation_matrix.py).
URL_ACTIONS = {
    "intake-home": "case.import",
    "intake-template-csv": "case.import",
    "intake-template-xlsx": "case.import",
    "intake-batch": "case.import",
    "intake-batch-progress": "case.import",
    "intake-mapping": "case.import",
    "intake-commit": "case.import",
    "intake-errors": "case.import",
    "intake-mapping-delete": "case.import",
    "intake-tokens": "api.integrate",
    "intake-token-revoke": "api.integrate",
    "intake-token-rotate": "api.integrate",
    "intake-api-cases": "case.import",
    "intake-api-import": "case.import",
    "intake-api-schema": None,  # the API's description, no data: any of the lender's staff, or a token
}
