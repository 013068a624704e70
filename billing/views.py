"""Stripe's webhook endpoint (public host): verify, record once, enqueue, answer 200 at once."""

import json
import logging

from django.conf import settings
from django.db import transaction
from django.http import HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import events, gateway

log = logging.getLogger(__name__)


@csrf_exempt  # authenticated by Stripe's signature over the raw body, not by a session
@require_POST
def webhook(request):
    secret = getattr(settings, "STRIPE_WEBHOOK_SECRET", "")
    signature = request.headers.get("Stripe-Signature", "")
    if not secret or not signature:
        return HttpResponseBadRequest("missing signature", content_type="text/plain")
    try:
        gateway.construct_event(request.body, signature, secret)  # over the raw bytes, never re-serialised JSON
        payload = json.loads(request.body)
    except (ValueError, gateway.SignatureError):
        log.warning("stripe webhook: rejected a request with a bad or stale signature")
        return HttpResponseBadRequest("invalid signature", content_type="text/plain")
    if not isinstance(payload, dict) or not payload.get("id"):
        return HttpResponseBadRequest("no event id", content_type="text/plain")
    with transaction.atomic():
        pk, pending = events.record(payload)
        if pending:
            from .tasks import process_event

            transaction.on_commit(lambda: process_event.delay(pk))
    return JsonResponse({"received": True})
