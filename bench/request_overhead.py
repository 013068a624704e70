"""Benchmark 3: what tenant routing and access checks add to a signed-in request.

Every variant is a real GET through django.core.handlers.wsgi.WSGIHandler --
the object gunicorn calls -- in this process, with a signed-in session cookie,
on acme.localhost. Only the middleware list and the view differ:

  floor          bare view, no middleware at all (the absolute floor)
  django         bare view behind Django's stock `startproject` middleware
  no-tenancy     bare view behind Caseport's full stack minus tenant routing
                 and access checks (TenantMainMiddleware, ResetSchemaMiddleware,
                 TenantAccessMiddleware)
  stack          bare view behind Caseport's full stack (settings.MIDDLEWARE)
  dashboard      GET / (workspace_dashboard) behind the full stack

The bare view does what @login_required does (checks request.user) and
returns "ok". Variants are interleaved in shuffled order every round, so
machine noise spreads evenly; medians are reported. See bench/README.md.
"""

from __future__ import annotations

import datetime
import io
import random
import sys
from dataclasses import dataclass
from decimal import Decimal
from http.cookies import SimpleCookie

from bench.timing import Result, Row, clock, fmt_ms, say, summary

HOST = "acme.localhost"
TARGET_RATIO = 1.2

STOCK_DJANGO_MIDDLEWARE = [  # what `django-admin startproject` generates (Django 5.2)
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TENANCY_MIDDLEWARE = {
    "portal.middleware.CachedTenantMiddleware",
    "portal.middleware.ResetSchemaMiddleware",
    "portal.middleware.TenantAccessMiddleware",
}


@dataclass
class Variant:
    key: str
    label: str
    middleware: list | None  # None: settings.MIDDLEWARE as configured
    path: str
    persona: str
    handler: object = None


class Browser:
    """A signed-in person's cookie jar, replayed on every request like a browser would."""

    def __init__(self, cookies):
        self.cookies = dict(cookies)

    def environ(self, path):
        return {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": HOST,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": HOST,
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_COOKIE": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "HTTP_USER_AGENT": "caseport-bench/1.0",
            "HTTP_ACCEPT": "text/html",
            "HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.5",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }

    def get(self, handler, path):
        """One request; returns (seconds, status, body, headers). Cookies are updated after the clock stops."""
        captured = {}

        def start_response(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        environ = self.environ(path)
        start = clock()
        response = handler(environ, start_response)
        try:
            body = b"".join(response)
        finally:
            if hasattr(response, "close"):
                response.close()  # fires request_finished, as a WSGI server does
        elapsed = clock() - start
        for name, value in captured["headers"]:
            if name.lower() == "set-cookie":
                for key, morsel in SimpleCookie(value).items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        self.cookies.pop(key, None)
                    else:
                        self.cookies[key] = morsel.value
        return elapsed, int(captured["status"].split()[0]), body, captured["headers"]


def seed_cases(world, count: int) -> dict:
    """A few hundred cases in acme across every bucket; a third placed with agency X."""
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from outsourcing.models import Placement
    from portal.models import Case, Debtor
    from tests.world import IDS

    now, today = timezone.now(), timezone.localdate()
    x_agency, collector = world.orgs["xagency"], world.people["x_collector"].user
    with tenant_context(world.lenders["acme"]):
        debtors = []
        for i in range(count):
            debtor = Debtor(name=f"基准债务人{i:04d}", mobile=f"139{i:08d}", address=f"上海市徐汇区漕溪北路{i}号")
            debtor.set_id_number(IDS[i % len(IDS)])
            debtors.append(debtor)
        Debtor.objects.bulk_create(debtors)
        cases = Case.objects.bulk_create(
            [
                Case(
                    debtor=debtor,
                    contract_no=f"BENCH-{i:06d}",
                    product="随心贷",
                    region="上海",
                    loan_amount=Decimal("30000.00"),
                    principal_due=Decimal(10000 + i),
                    interest_due=Decimal("512.30"),
                    overdue_since=today - datetime.timedelta(days=1 + (i * 7) % 240),
                )
                for i, debtor in enumerate(debtors)
            ]
        )
        placements = Placement.objects.bulk_create(
            [
                Placement(
                    case=case,
                    partner=x_agency,
                    assigned_to=collector if i % 2 else None,
                    starts_at=now - datetime.timedelta(days=5),
                    ends_at=now + datetime.timedelta(days=1 + i % 60),
                )
                for i, case in enumerate(cases[::3])
            ]
        )
        total = Case.objects.count()
    return {"cases_seeded": len(cases), "placements_seeded": len(placements), "acme_cases_total": total}


def signed_in_cookies(persona) -> dict:
    from django.conf import settings
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    client = Client(HTTP_HOST=HOST)
    client.force_login(persona.user, backend="django.contrib.auth.backends.ModelBackend")
    if persona.device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = persona.device.persistent_id
        session.save()
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


def capture_sql(browser, handler, path) -> list[str]:
    """The SQL statements one request runs (outside the timed loop: capturing slows queries down)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        browser.get(handler, path)
    return [q["sql"] for q in ctx.captured_queries]


def run(opts) -> Result:
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test import override_settings

    from tests.world import build_world

    say(
        f"\n== 3. Request overhead of tenant routing + access checks ({opts.iterations} timed requests per variant "
        f"after {opts.warmup} warm-up, interleaved; medians)"
    )
    world = build_world()
    seeded = seed_cases(world, opts.cases)
    connection.set_schema_to_public()
    say(
        f"   world built (tests/world.py); seeded {seeded['cases_seeded']} cases in acme "
        f"({seeded['acme_cases_total']} in all), {seeded['placements_seeded']} placed with agency X"
    )

    full = list(settings.MIDDLEWARE)
    no_tenancy = [m for m in full if m not in TENANCY_MIDDLEWARE]
    variants = [
        Variant("floor", "bare view, no middleware", [], "/bench/bare/", "acme_manager"),
        Variant("django", "bare view, stock Django middleware", STOCK_DJANGO_MIDDLEWARE, "/bench/bare/", "acme_manager"),
        Variant("no_tenancy", "bare view, full stack minus tenancy+access", no_tenancy, "/bench/bare/", "acme_manager"),
        Variant("stack_manager", "bare view, full stack (collections manager)", None, "/bench/bare/", "acme_manager"),
        Variant("stack_agency", "bare view, full stack (agency admin)", None, "/bench/bare/", "x_admin"),
        Variant("dash_manager", "dashboard GET / (collections manager)", None, "/", "acme_manager"),
        Variant("dash_agency", "dashboard GET / (agency admin)", None, "/", "x_admin"),
    ]
    browsers = {key: Browser(signed_in_cookies(world.people[key])) for key in {v.persona for v in variants}}

    debug = bool(opts.debug_requests)
    samples = {v.key: [] for v in variants}
    statements = {}
    with override_settings(ROOT_URLCONF="bench.urls_bare", DEBUG=debug):
        for variant in variants:
            if variant.middleware is None:
                variant.handler = WSGIHandler()
            else:
                with override_settings(MIDDLEWARE=variant.middleware):
                    variant.handler = WSGIHandler()
        for variant in variants:  # warm-up, and check every variant really succeeds
            browser = browsers[variant.persona]
            for _ in range(opts.warmup):
                _elapsed, status, body, _headers = browser.get(variant.handler, variant.path)
                if status != 200:
                    raise RuntimeError(f"{variant.key}: GET {variant.path} on {HOST} returned {status}: {body[:300]!r}")
            if variant.path == "/bench/bare/" and body != b"ok":
                raise RuntimeError(f"{variant.key}: unexpected body {body[:200]!r}")
            if variant.path == "/" and b"<h1>" not in body:
                raise RuntimeError(f"{variant.key}: the dashboard did not render")
            statements[variant.key] = capture_sql(browser, variant.handler, variant.path)
        rng = random.Random(2026)
        order = list(variants)
        for _ in range(opts.iterations):
            rng.shuffle(order)
            for variant in order:
                elapsed, status, _body, _headers = browsers[variant.persona].get(variant.handler, variant.path)
                if status != 200:
                    raise RuntimeError(f"{variant.key}: status {status} during the timed run")
                samples[variant.key].append(elapsed)
    connection.set_schema_to_public()

    stats = {key: summary(values) for key, values in samples.items()}
    med = {key: s["median"] for key, s in stats.items()}
    for variant in variants:
        s = stats[variant.key]
        say(
            f"   {variant.label:<46} median {fmt_ms(s['median']):>9}  p90 {fmt_ms(s['p90']):>9}  "
            f"{len(statements[variant.key]):>2} SQL statements "
            f"({sum(1 for q in statements[variant.key] if q.upper().startswith('SET SEARCH_PATH'))} of them SET search_path)"
        )

    def ratio_line(label, num, den, target=None):
        value = med[num] / med[den]
        verdict = ("PASS" if value < target else "FAIL") if target else ""
        suffix = f"  target < {target}x -> {verdict}" if target else ""
        say(f"   {label:<62} {value:5.2f}x{suffix}")
        return value, verdict

    say("   ratios (medians):")
    ra_m, v_m = ratio_line("routing+access overhead, manager: stack / no-tenancy", "stack_manager", "no_tenancy", TARGET_RATIO)
    ra_a, v_a = ratio_line("routing+access overhead, agency admin: stack / no-tenancy", "stack_agency", "no_tenancy", TARGET_RATIO)
    ratio_line("whole Caseport stack vs stock Django: stack / django", "stack_manager", "django")
    ratio_line("whole stack vs no middleware: stack / floor", "stack_manager", "floor")
    ratio_line("dashboard work, manager: dashboard / stack", "dash_manager", "stack_manager")
    ratio_line("dashboard work, agency admin: dashboard / stack", "dash_agency", "stack_agency")
    ratio_line("literal reading, dashboard (manager) / bare Django view", "dash_manager", "django")
    ratio_line("literal reading, dashboard (agency admin) / bare Django view", "dash_agency", "django")

    result = Result(name="request_overhead", title="Request overhead of tenant routing + access checks")
    target = f"< {TARGET_RATIO}x"
    rows = [
        Row(
            "3 requests",
            "bare view, full stack (manager)",
            med["stack_manager"],
            "same, minus tenancy+access",
            med["no_tenancy"],
            "ms",
            target,
            v_m,
        ),
        Row(
            "3 requests",
            "bare view, full stack (agency admin)",
            med["stack_agency"],
            "same, minus tenancy+access",
            med["no_tenancy"],
            "ms",
            target,
            v_a,
        ),
        Row("3 requests", "bare view, full stack (manager)", med["stack_manager"], "bare view, stock Django mw", med["django"], "ms"),
        Row("3 requests", "bare view, full stack (manager)", med["stack_manager"], "bare view, no middleware", med["floor"], "ms"),
        Row("3 requests", "dashboard (manager)", med["dash_manager"], "bare view, full stack", med["stack_manager"], "ms"),
        Row("3 requests", "dashboard (agency admin)", med["dash_agency"], "bare view, full stack", med["stack_agency"], "ms"),
        Row("3 requests", "dashboard (manager)", med["dash_manager"], "bare view, stock Django mw", med["django"], "ms"),
        Row("3 requests", "dashboard (agency admin)", med["dash_agency"], "bare view, stock Django mw", med["django"], "ms"),
    ]
    result.rows.extend(rows)
    result.details = {
        "host": HOST,
        "iterations": opts.iterations,
        "warmup": opts.warmup,
        "debug": debug,
        "seed": seeded,
        "variants": {
            v.key: {
                "label": v.label,
                "path": v.path,
                "persona": v.persona,
                "middleware": v.middleware if v.middleware is not None else full,
                "sql_statements": len(statements[v.key]),
                "sql": statements[v.key],
                "stats": stats[v.key],
            }
            for v in variants
        },
        "ratios": {
            "routing_access_manager": ra_m,
            "routing_access_agency": ra_a,
            "stack_over_django": med["stack_manager"] / med["django"],
            "stack_over_floor": med["stack_manager"] / med["floor"],
            "dashboard_manager_over_stack": med["dash_manager"] / med["stack_manager"],
            "dashboard_agency_over_stack": med["dash_agency"] / med["stack_agency"],
            "dashboard_manager_over_django": med["dash_manager"] / med["django"],
            "dashboard_agency_over_django": med["dash_agency"] / med["django"],
        },
        "target_ratio": TARGET_RATIO,
    }
    return result
