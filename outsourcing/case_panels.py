"""Outsourcing's panel on the lender's case page: the whole collection history of the case.

Every agency's contact attempts (outcome, collector, agency, time), promises to pay and their fate,
call recordings (through the workbench's authorised, audited download) and field visits (request,
decision, report), so that a manager supervises the agencies without signing in as one. Registered
with portal.case_panels at start-up (the core never imports outsourcing). Lender staff with
``case.view_collection_history`` only: a partner sees its own work on its own pages.
"""

from portal.access import can
from portal.case_panels import register_case_panel

from .workbench import history

# Attempts shown on the case page before "show all"; either way the panel costs a fixed number of queries.
PANEL_ATTEMPTS = 50
SHOW_ALL_PARAM = "history"


def collection_history(request, case) -> dict:
    show_all = request.GET.get(SHOW_ALL_PARAM) == "all"
    full = history.case_history(case=case, principal=request.principal, max_attempts=None if show_all else PANEL_ATTEMPTS)
    # The agencies' work only: the limitation evidence has its own card on the case page.
    work = history.History([entry for entry in full.entries if entry.kind != "limitation"], full.truncated)
    return {
        "history": work,
        "show_all": show_all,
        "show_amounts": can(request.principal, "case.view_amounts"),
        "show_all_param": SHOW_ALL_PARAM,
    }


def register():
    register_case_panel(
        key="collection-history",
        action="case.view_collection_history",
        template="outsourcing/partials/case_collection_history.html",
        build=collection_history,
    )
