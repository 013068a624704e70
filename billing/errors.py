"""The one error billing raises to its callers: a payment that could not be made, and why.

A Django ``ValidationError`` (with a ``code``), like portal.errors.RuleError, so the portal's edges
(``to_messages``, the API's handler) show it without billing importing the portal.
"""

from django.core.exceptions import ValidationError


class PaymentError(ValidationError):
    """The charge was refused or could not be made; ``message`` is for the person, ``code`` for the program."""
