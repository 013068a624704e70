"""Shared machinery for the isolation tests: declared actions, CSRF-checked clients, real bodies, a DB fingerprint.

* ``url_actions()`` — which function-level action (portal.access.PERMISSIONS) guards each URL, declared once
  per area next to its owner_kwargs (``URL_ACTIONS`` in tests/test_isolation_matrix.py and tests/matrix_*.py).
* ``csrf_client(...)`` — a signed-in ``Client(enforce_csrf_checks=True)`` with a CSRF token it fetched itself,
  so a refusal cannot come from a missing token instead of the access rule under test.
* ``FormIndex`` — the forms the owners of the data are shown, keyed by the path they post to: the body a
  refused persona sends is the one the URL really expects (every field filled), not an empty POST.
* ``fingerprint()`` — one query hashing every row of every table of the lender's schema and the public schema
  (less the append-only audit log, which records denials by design, and the session table), so "the database did
  not change" is checked exactly, including updates.
"""

import datetime
import html.parser
import urllib.parse

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from portal.access import PERMISSIONS

# Tables whose change on a refused request is by design.
FINGERPRINT_EXCLUDED = {"audit_auditevent", "django_session"}


def url_actions():
    """URL name -> action, a tuple of actions (any of them opens the URL), or None (no function-level action)."""
    from tests.test_isolation_matrix import URL_ACTIONS, matrix_modules

    merged = dict(URL_ACTIONS)
    for module in matrix_modules():
        merged.update(getattr(module, "URL_ACTIONS", {}))
    return merged


def post_bodies(world):
    """URL name -> the body its form takes, declared by the areas for forms no owner's page shows in the world's state."""
    from tests.test_isolation_matrix import matrix_modules

    merged = {}
    for module in matrix_modules():
        if hasattr(module, "post_bodies"):
            merged.update(module.post_bodies(world))
    return merged


def actions_of(declared, method="get"):
    if isinstance(declared, dict):
        declared = declared[method]
    if declared is None:
        return ()
    return (declared,) if isinstance(declared, str) else tuple(declared)


def role_may(role, declared, method="get"):
    """May this role pass the URL's function-level check for this method? (None: every member may.)"""
    actions = actions_of(declared, method)
    if not actions:
        return True
    return any(role in PERMISSIONS[action] for action in actions)


def buildable_paths(urls, kwargs):
    """(name, path, where) for each URL the matrix can build; the others already fail test_every_url_is_in_the_matrix."""
    from tests.test_isolation_matrix import build_path

    built = []
    for where, route, name in urls:
        try:
            built.append((where, route, name, build_path(route, name, kwargs)))
        except (AssertionError, KeyError):
            continue
    return built


# ----------------------------------------------------------------- clients


def csrf_client(world, persona_key, host):
    """A signed-in client that enforces CSRF, holding a token it fetched from a page (the sign-in form)."""
    client = Client(enforce_csrf_checks=True, HTTP_HOST=world.host(host) if host else "localhost")
    if persona_key is not None:
        persona = world.people[persona_key]
        user = type(persona.user).objects.get(pk=persona.user.pk)
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        if persona.device is not None:
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = persona.device.persistent_id
            session.save()
    client.csrf_token = fetch_csrf_token(client)
    return client


def fetch_csrf_token(client):
    """The token as a browser gets it: from the cookie a page with a form sets."""
    for path in ("/accounts/login/", "/accounts/2fa/", "/"):
        client.get(path)
        cookie = client.cookies.get(settings.CSRF_COOKIE_NAME)
        if cookie is not None and cookie.value:
            return cookie.value
    raise AssertionError("no page handed out a CSRF token")


# ----------------------------------------------------------------- forms and bodies


class _FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []  # (method, action, fields: list[(name, type, value, checked)], selects, textareas)
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {
                "method": (attrs.get("method") or "get").lower(),
                "action": attrs.get("action"),
                "fields": [],
                "enctype": attrs.get("enctype", ""),
            }
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and attrs.get("name"):
            self._form["fields"].append(
                (attrs["name"], (attrs.get("type") or "text").lower(), attrs.get("value") or "", "checked" in attrs, "required" in attrs)
            )
        elif tag == "button" and attrs.get("name") and (attrs.get("type") or "submit").lower() == "submit":
            self._form["fields"].append((attrs["name"], "submit", attrs.get("value") or "", False, False))
        elif tag == "select" and attrs.get("name"):
            self._select = [attrs["name"], None, None]  # name, first non-empty option, selected option
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            if "selected" in attrs:
                self._select[2] = value
            if value and self._select[1] is None:
                self._select[1] = value
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = [attrs["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if self._form is None:
            return
        if tag == "select" and self._select is not None:
            name, first, selected = self._select
            self._form["fields"].append((name, "select", selected or first or "", True, False))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._form["fields"].append((self._textarea[0], "textarea", self._textarea[1].strip() or "isolation matrix", True, False))
            self._textarea = None
        elif tag == "form":
            self._form = None


def _filled(kind, value):
    if value:
        return value
    today = datetime.date.today()
    return {
        "date": today.isoformat(),
        "month": today.strftime("%Y-%m"),
        "number": "1",
        "email": "matrix@personas.test",
        "datetime-local": today.isoformat() + "T10:00",
        "time": "10:00",
        "tel": "13800138000",
    }.get(kind, "isolation matrix")


def body_from_fields(fields):
    body, submits = {}, {}
    for name, kind, value, checked, _required in fields:
        if name == "csrfmiddlewaretoken":
            continue
        if kind == "submit":
            submits.setdefault(name, value)
        elif kind == "file":
            body[name] = SimpleUploadedFile(
                "matrix.csv", b"contract_no,amount,paid_on,reference\nACME-CANARY-001,1.00,2026-01-01,M-1\n", content_type="text/csv"
            )
        elif kind in ("checkbox", "radio"):
            if checked or name not in body:
                body[name] = value or "on"
        else:
            body.setdefault(name, _filled(kind, value))
    for name, value in submits.items():
        body.setdefault(name, value)
    return body


class FormIndex:
    """Every POST form shown on the owners' GET pages, by the path it posts to."""

    def __init__(self):
        self.by_path = {}

    def add_page(self, page_path, content):
        parser = _FormParser()
        parser.feed(content)
        for form in parser.forms:
            if form["method"] != "post":
                continue
            action = form["action"] or page_path
            target = urllib.parse.urlsplit(urllib.parse.urljoin(page_path, action)).path
            self.by_path.setdefault(target, body_from_fields(form["fields"]))

    def body_for(self, path, explicit=None):
        """The form's body for ``path``; else the area's declared body; else a plain non-empty body."""
        if path in self.by_path:
            return dict(self.by_path[path])
        if explicit is not None:
            return dict(explicit)
        return {"note": "isolation matrix", "reason": "isolation matrix", "confirm": "on"}


def post_with_csrf(client, path, body, **extra):
    """POST the body with the client's own CSRF token (the field, as a browser form sends it)."""
    data = dict(body)
    files = [value for value in data.values() if hasattr(value, "seek")]
    for upload in files:
        upload.seek(0)
    data["csrfmiddlewaretoken"] = client.csrf_token
    return client.post(path, data, **extra)


# ----------------------------------------------------------------- database fingerprint

_table_cache = {}


def _tables(schema):
    if schema not in _table_cache:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE' "
                "ORDER BY table_name",
                [schema],
            )
            _table_cache[schema] = [name for (name,) in cursor.fetchall() if name not in FINGERPRINT_EXCLUDED]
    return _table_cache[schema]


def fingerprint(*schemas):
    """{schema.table: md5 of all its rows}: cheap on the test world (a handful of rows per table), exact on any write."""
    parts = []
    for schema in schemas:
        for table in _tables(schema):
            parts.append(
                f"SELECT '{schema}.{table}', md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{schema}\".\"{table}\" t"
            )
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return dict(cursor.fetchall())


def changed_tables(before, after):
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def run_unchanged(requests, schemas):
    """Run ``requests`` [(label, send)] and return ([(label, response)], [write descriptions]).

    The database is fingerprinted once around the whole batch (inside a savepoint); only if it changed is
    the batch rolled back and replayed one request at a time, fingerprinted around each, to name the culprit.
    """
    from django.db import transaction

    with transaction.atomic():
        before = fingerprint(*schemas)
        results = [(label, send()) for label, send in requests]
        for _label, response in results:
            response_text(response)  # read now: a streamed file may not outlive the savepoint
        changed = changed_tables(before, fingerprint(*schemas))
        if changed:
            transaction.set_rollback(True)
    connection.set_schema_to_public()
    if not changed:
        return results, []
    writes, results = [], []
    for label, send in requests:
        before = fingerprint(*schemas)
        response = send()
        response_text(response)
        results.append((label, response))
        tables = changed_tables(before, fingerprint(*schemas))
        if tables:
            writes.append(f"{label}: wrote to {tables} (status {response.status_code})")
    return results, writes


# ----------------------------------------------------------------- canaries


def leaked(body, canaries):
    return [canary for canary in canaries if canary in body]


def response_text(response):
    """The body as text, read once (a streamed file is consumed on the first read) and kept on the response."""
    if hasattr(response, "_matrix_text"):
        return response._matrix_text
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    response._matrix_text = content.decode("utf-8", "replace")
    return response._matrix_text
