"""Committed billing data for the tests that need other connections (threads, a live server, a worker):
made with the database unblocked outside the test transaction, and removed afterwards."""

import contextlib

from django.db import connection

from billing import accounts
from billing.models import BillingAccount, Charge, StripeEvent, Transfer
from tests.billing import probes


@contextlib.contextmanager
def committed_card(world, django_db_blocker, card="4242424242424242"):
    """acme with a customer and a card (committed); on exit every charge, transfer, event and the account made meanwhile go."""
    acme = world.lenders["acme"]
    with django_db_blocker.unblock():
        before_events = set(StripeEvent.objects.values_list("pk", flat=True))
        probes.CALLS.clear()
        account = accounts.attach_test_card(acme, card)
        try:
            yield account
        finally:
            connection.set_schema_to_public()
            Transfer.objects.filter(charge__lender=acme, charge__purpose=probes.PURPOSE).delete()
            Charge.objects.filter(lender=acme, purpose=probes.PURPOSE).delete()
            StripeEvent.objects.exclude(pk__in=before_events).delete()
            BillingAccount.objects.filter(pk=account.pk).delete()
