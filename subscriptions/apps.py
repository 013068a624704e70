from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = _("Tenant subscriptions")

    def ready(self):
        from subscriptions import state

        state.connect_signals()
        # Stripe's subscription and invoice events reach us through billing's webhook (recorded once, processed
        # in Celery); we re-fetch and mirror.
        from billing import hooks as billing_hooks
        from subscriptions.services import handle_stripe_event

        billing_hooks.register_event_handler("customer.subscription.", handle_stripe_event)
        billing_hooks.register_event_handler("invoice.", handle_stripe_event)
