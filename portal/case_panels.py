"""Panels that the apps built on the core add to the lender's case page.

The case page belongs to the core; what an app knows about a case (outsourcing: every agency's
attempts, promises, recordings and field visits) is shown through a panel the app registers here at
start-up, so that the core never imports the apps built on it (tenants ← portal ← outsourcing).
Each panel names the action (portal.access.PERMISSIONS) a principal needs to see it: the one place
that decides who sees what.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.template.loader import render_to_string

from portal.access import PERMISSIONS, can


@dataclass(frozen=True)
class CasePanel:
    key: str  # the panel's HTML id on the page
    action: str  # who may see it (portal.access.PERMISSIONS)
    template: str
    build: Callable  # build(request, case) -> the template's context (a dict)
    order: int = 100


CASE_PANELS: dict[str, CasePanel] = {}


def register_case_panel(*, key: str, action: str, template: str, build: Callable, order: int = 100) -> CasePanel:
    """Add (or replace, by key) a panel on the case page. An unknown action is a bug: refused at once."""
    if action not in PERMISSIONS:
        raise ValueError(f"unknown action {action!r}")
    panel = CasePanel(key=key, action=action, template=template, build=build, order=order)
    CASE_PANELS[key] = panel
    return panel


def panels_for(request, case) -> list[dict]:
    """The panels this request's principal may see on ``case``'s page, rendered, in order (``{"key", "html"}``)."""
    shown = []
    for panel in sorted(CASE_PANELS.values(), key=lambda p: (p.order, p.key)):
        if can(request.principal, panel.action):
            context = {"case": case} | panel.build(request, case)
            shown.append({"key": panel.key, "html": render_to_string(panel.template, context, request=request)})
    return shown
