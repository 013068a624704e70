"""The fee ledger's panel on the lender's case page: what this case recovered, what it cost, and its entries.

Registered with portal.case_panels at start-up (portal/ledger/apps.py calls ``register()``). The figures come
from the case's legs through the (case, account) index (reports.case_net_recovery); finance only, the same
action as the net-recovery dashboard (views.ACTION): a partner never sees the lender's costs.
"""

from portal.case_panels import register_case_panel

from . import reports
from .views import ACTION


def net_recovery_panel(request, case) -> dict:
    found = reports.case_net_recovery(case)
    return {
        "ledger": found,
        "figures": found.figures,
        "cost_per_yuan": reports.format_ratio(found.figures.cost_per_yuan),
    }


def register():
    register_case_panel(
        key="net-recovery",
        action=ACTION,
        template="ledger/case_panel.html",
        build=net_recovery_panel,
        order=300,
    )
