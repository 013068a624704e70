"""The one application error type, and the one way it reaches a person.

A business rule that refuses an operation raises ``RuleError`` (a Django ``ValidationError``: it carries a
``code`` naming the rule and lazily translated messages, so forms, services and the API speak the same
type). The edges translate it once: ``to_messages`` for pages (Django's messages, in the reader's language),
``api_exception_handler`` for the REST API (400 with ``{"code", "detail"}`` per refusal). Apps subclass it
for their own refusals (placement, conduct, workbench) so a caller can catch one type.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_MESSAGES = 20  # a long list of refusals (an allocation of thousands) is cut, and says how many more


class RuleError(ValidationError):
    """A business rule refused the operation; ``messages`` are the reasons, ``codes`` the rules."""

    @property
    def codes(self) -> list[str]:
        return [error.code for error in self.error_list if error.code]


def refusals(error: ValidationError) -> list[dict]:
    """[{"code", "detail"}] for each reason, in the active language."""
    return [{"code": item.code or "invalid", "detail": message} for item in error.error_list for message in item.messages]


def to_messages(request, error: ValidationError) -> None:
    """Show a refusal on the next page: one message per reason, at most MAX_MESSAGES."""
    texts = error.messages
    for text in texts[:MAX_MESSAGES]:
        messages.error(request, text)
    if len(texts) > MAX_MESSAGES:
        messages.error(request, _("… and %(count)s more.") % {"count": len(texts) - MAX_MESSAGES})


def api_exception_handler(exc, context):
    """REST framework's handler, with a ValidationError from a service answered as 400 {"errors": [{code, detail}]}."""
    from rest_framework import status
    from rest_framework.response import Response
    from rest_framework.views import exception_handler

    if isinstance(exc, ValidationError):
        return Response({"errors": refusals(exc)}, status=status.HTTP_400_BAD_REQUEST)
    return exception_handler(exc, context)
