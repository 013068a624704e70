"""Subscriptions' part of the isolation matrix: the lender's billing page and platform staff's overview.

The URLs take no ids (a lender's billing is its host's; the overview is the platform's), so there is nothing to
add to the world: outsiders are refused by the function-level action alone, which URL_ACTIONS declares.
"""


def owner_kwargs(world):
    return {}


URL_ACTIONS = {
    "billing": "subscription.manage",
    "billing-card": "subscription.manage",
    "billing-pay": "subscription.manage",
    "platform-billing": "platform.manage",
}
