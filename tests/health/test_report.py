"""The scheduled health report: a period, a recipient, summary or detailed, failures only."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from postroom.core import chores
from postroom.core.models import Throttle
from postroom.delivery.models import Kind, OutboxMessage, WorkerHeartbeat
from postroom.health.config import report_config
from postroom.health.report import THROTTLE_KEY, send_report_if_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def report_settings(monkeypatch):
    def configure(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(f"Postroom__HealthReport__{key}", value)

    return configure


def reports() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind=Kind.REPORT))


def body(message: OutboxMessage) -> str:
    return bytes(message.raw).decode()


def test_the_report_is_off_by_default():
    assert not report_config().enabled
    assert send_report_if_due() is None
    assert reports() == []


def test_a_failure_is_reported_to_the_recipient_through_the_outbox(report_settings):
    report_settings(PeriodHours="24", Recipient="ops@postroom.test")  # no worker: a failure

    chores.run_all(inline=True)  # the chores, as an idle worker runs them (here, inline)

    [report] = reports()
    assert report.to == "ops@postroom.test"
    assert report.subject.startswith("Postroom health (Development): 1 error")
    text = body(report)
    assert "[ERROR] Delivery / A delivery worker is running" in text
    assert "No delivery worker is running" in text
    assert "Security / " not in text  # failures only, by default


def test_at_most_one_report_per_period(report_settings):
    report_settings(PeriodHours="6", Recipient="ops@postroom.test")

    send_report_if_due()
    send_report_if_due()
    assert len(reports()) == 1

    Throttle.objects.filter(key=THROTTLE_KEY).update(last_at=timezone.now() - timedelta(hours=7))
    send_report_if_due()
    assert len(reports()) == 2


def test_failures_only_sends_nothing_when_all_is_well(report_settings, settings):
    WorkerHeartbeat.objects.create(worker_id="w", hostname="h", pid=1, last_seen_at=timezone.now())
    report_settings(PeriodHours="24", Recipient="ops@postroom.test")

    assert send_report_if_due() is None
    assert reports() == []


def test_a_detailed_report_of_everything(report_settings):
    WorkerHeartbeat.objects.create(
        worker_id="w", hostname="web1", pid=1, last_seen_at=timezone.now()
    )
    report_settings(
        PeriodHours="24", Recipient="ops@postroom.test", Detail="Detailed", FailuresOnly="false"
    )

    send_report_if_due()

    [report] = reports()
    text = body(report)
    assert "[ok] Delivery / A delivery worker is running" in text
    assert "1 worker running: web1" in text
    assert "Security / The secret key is secret" in text


def test_an_invalid_recipient_turns_the_report_off_and_says_why(report_settings):
    report_settings(PeriodHours="24", Recipient="not an address")

    config = report_config()

    assert not config.enabled
    assert "not an email address" in config.problems[0]
    assert send_report_if_due() is None


def test_the_report_runs_outside_the_delivering_thread(report_settings, monkeypatch):
    """Its checks may wait on an SMTP server for seconds: the worker goes on meanwhile."""
    from postroom.core import chores
    from postroom.delivery.worker import Worker
    from postroom.health import report

    report_chore = next(chore for chore in chores.registered() if chore.name == "health-report")
    monkeypatch.setattr(chores, "_chores", {"health-report": report_chore})
    release, started = threading.Event(), threading.Event()
    where = []

    def slow_report() -> None:
        where.append(threading.current_thread())
        started.set()
        release.wait(10)

    monkeypatch.setattr(report, "send_report_if_due", slow_report)
    began = time.monotonic()
    Worker()._housekeeping()  # what an idle worker does about once a minute
    assert time.monotonic() - began < 1.0
    assert started.wait(5)
    assert where and where[0] is not threading.current_thread()
    release.set()
    assert chores.wait_for_threads(5)
