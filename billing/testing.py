"""Test and demo support: a localstripe server on 127.0.0.1 and signed webhook payloads.

    from billing.testing import start_localstripe, stop_localstripe, sign_payload
    process, base_url = start_localstripe(8511)      # waits until it answers
    ...  settings.STRIPE_API_BASE = base_url
    stop_localstripe(process)

``make demo`` can run the same: ``start_localstripe(port, state_file=".devdata/localstripe.pickle")``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "bin" / "localstripe_server.py"


def start_localstripe(
    port: int, *, state_file: str | None = None, timeout: float = 30.0, log=subprocess.DEVNULL
) -> tuple[subprocess.Popen, str]:
    """Start bin/localstripe_server.py on 127.0.0.1:``port``; return (process, base URL) once it answers."""
    command = [sys.executable, str(SERVER), "--port", str(port)] + (["--state", state_file] if state_file else [])
    process = subprocess.Popen(command, stdout=log, stderr=log)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited with {process.returncode} (is port {port} taken?)")
        try:
            request = urllib.request.Request(f"{base_url}/v1/customers?limit=1", headers={"Authorization": "Bearer sk_test_probe"})
            with urllib.request.urlopen(request, timeout=1) as response:
                if response.status == 200:
                    return process, base_url
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            stop_localstripe(process)
            raise RuntimeError(f"localstripe did not answer on {base_url} within {timeout} s")
        time.sleep(0.1)


def stop_localstripe(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _post(base_url: str, path: str, data: dict | None = None, method: str = "POST") -> None:
    body = urllib.parse.urlencode(data or {}).encode() if data else None
    request = urllib.request.Request(f"{base_url}{path}", data=body, method=method, headers={"Authorization": "Bearer sk_test_config"})
    with urllib.request.urlopen(request, timeout=10):
        pass


def register_webhook(base_url: str, url: str, secret: str, name: str = "caseport") -> None:
    """Make localstripe deliver its events (signed with ``secret``) to ``url`` (POST /_config/webhooks/<name>)."""
    _post(base_url, f"/_config/webhooks/{name}", {"url": url, "secret": secret})


def flush_localstripe(base_url: str) -> None:
    """Forget every object (DELETE /_config/data)."""
    _post(base_url, "/_config/data", method="DELETE")


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for ``payload``: ``t=<ts>,v1=HMAC-SHA256(secret, "<ts>.<payload>")`` (Stripe's scheme)."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    signed = f"{timestamp}.".encode() + payload
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def event_payload(event_type: str, obj: dict, *, event_id: str | None = None, created: int | None = None) -> bytes:
    """A minimal Stripe event body (what the webhook reads: id, type, data.object)."""
    import uuid

    return json.dumps(
        {
            "id": event_id or f"evt_test_{uuid.uuid4().hex[:20]}",
            "object": "event",
            "type": event_type,
            "created": created or int(time.time()),
            "livemode": False,
            "api_version": "2017-08-15",
            "data": {"object": obj},
        }
    ).encode()
