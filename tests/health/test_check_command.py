"""`postroom check`: for cron, CI and monitoring. Exit 0 without failures, 1 with one."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.utils import timezone

from postroom.delivery.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def check(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("check", *args, stdout=out)
    except SystemExit as leaving:
        return int(leaving.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_json_lists_every_check_with_its_results(configure_smtp, refused_port):
    configure_smtp(host="127.0.0.1", port=refused_port, security="None")

    code, out = check("--json")

    assert code == 1
    data = json.loads(out)
    assert data["status"] == "error"
    ids = [c["id"] for c in data["checks"]]
    assert {"smtp", "delivery-worker", "password-reset", "security-secret-key"} <= set(ids)
    smtp = next(c for c in data["checks"] if c["id"] == "smtp")
    assert set(smtp) >= {"id", "name", "group", "status", "duration_ms", "results"}
    assert smtp["group"] == "Services"
    connect = next(r for r in smtp["results"] if r.get("step") == "connect")
    assert connect["status"] == "error"
    assert "connection refused" in connect["message"]
    assert connect["fix"]
    assert isinstance(connect["duration_ms"], int)


def test_exit_status_is_zero_when_nothing_fails():
    WorkerHeartbeat.objects.create(
        worker_id="w", hostname="web1", pid=1, last_seen_at=timezone.now()
    )

    code, out = check("--group", "delivery")

    assert code == 0, out
    assert "Delivery" in out
    assert "[  ok] A delivery worker is running" in out
    assert "Summary: " in out and "error" not in out.split("Summary: ")[1]


def test_exit_status_is_one_when_a_check_fails():
    code, out = check("--group", "Delivery")  # no worker is running

    assert code == 1
    assert "[FAIL] A delivery worker is running" in out
    assert "Fix: Run `postroom worker`" in out


def test_one_check_by_id(configure_smtp, refused_port):
    configure_smtp(host="127.0.0.1", port=refused_port, security="None")

    code, out = check("--check", "smtp")

    assert code == 1
    assert "Connect: Could not connect to 127.0.0.1:" in out
    assert "Worker" not in out


def test_an_unknown_group_is_a_usage_error():
    out = io.StringIO()
    with pytest.raises(Exception, match="no group 'Mail'; use one of Configuration"):
        call_command("check", "--group", "Mail", stdout=out)


@pytest.mark.slow  # runs the console script in a new process
def test_the_console_script_exits_with_the_status(tmp_path, isolated_site):
    env = {
        "PATH": "/usr/bin:/bin",
        "POSTROOM_SITE": str(isolated_site),
        "POSTROOM_DATA": str(tmp_path / "data"),
    }
    ok = subprocess.run(
        [sys.executable, "-m", "postroom.cli", "check", "--json", "--group", "Security"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["status"] in ("success", "info")

    failing = subprocess.run(
        [sys.executable, "-m", "postroom.cli", "check", "--check", "smtp"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "POSTROOM_ENVIRONMENT": "Production"},
    )
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "SMTP is not configured: mail is held" in failing.stdout
