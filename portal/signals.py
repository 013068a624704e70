"""Invalidate cached access decisions after any committed change that can alter them."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.access import bump_access_generation
from tenants.models import Domain, Engagement, Lender, Membership, Organisation, User


def _bump_after_commit(sender, update_fields=None, **kwargs):
    # A sign-in saves last_login: not an access change.
    if sender is User and update_fields is not None and "is_active" not in update_fields:
        return
    # In autocommit this runs at once; inside a transaction, only if it commits.
    transaction.on_commit(bump_access_generation)


for model in (Membership, Engagement, Organisation, Lender, Domain, User, TOTPDevice):
    post_save.connect(_bump_after_commit, sender=model, dispatch_uid=f"access-generation-save-{model.__name__}")
    post_delete.connect(_bump_after_commit, sender=model, dispatch_uid=f"access-generation-delete-{model.__name__}")
