"""`postroom outbox list|stats|retry|cancel`: the queue from the command line, also as JSON."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from postroom.delivery import worker
from postroom.delivery.models import OutboxMessage
from sites import queue_mail, use_smtp_server

pytestmark = pytest.mark.django_db


def run(*args: str, capsys) -> str:
    call_command("outbox", *args)
    return capsys.readouterr().out


def run_json(*args: str, capsys):
    return json.loads(run(*args, "--json", capsys=capsys))


def status(pk: int) -> str:
    return OutboxMessage.objects.get(pk=pk).status


@pytest.fixture
def mixed(isolated_site, smtp_server):
    """Two sent forms, a failed report, a queued invitation, a held test message."""
    server = smtp_server(refuse={"gone@example.net": "550 5.1.1 No such user"})
    use_smtp_server(isolated_site, server.port)
    sent = queue_mail(2)
    (failed,) = queue_mail(to=("gone@example.net",), kind="report")
    worker.run_once()
    (queued,) = queue_mail(kind="invite")
    (held,) = queue_mail(kind="test")
    OutboxMessage.objects.filter(pk=held.pk).update(status="held")
    OutboxMessage.objects.filter(pk=queued.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    return {"sent": sent, "failed": failed, "queued": queued, "held": held}


def test_list_filters_by_status_and_kind_and_names_the_connection(mixed, capsys):
    rows = run_json("list", capsys=capsys)["messages"]
    assert len(rows) == 5
    assert rows[0]["id"] == mixed["held"].pk  # newest first
    sent = run_json("list", "--status", "sent", capsys=capsys)["messages"]
    assert {r["id"] for r in sent} == {m.pk for m in mixed["sent"]}
    assert {r["connection"] for r in sent} == {"main"}
    assert sent[0]["subject"].startswith("Message") and sent[0]["to"] == "someone@example.net"
    reports = run_json("list", "--kind", "report", capsys=capsys)["messages"]
    assert [(r["id"], r["status"]) for r in reports] == [(mixed["failed"].pk, "failed")]
    assert "550 5.1.1" in reports[0]["last_reply"]
    assert run_json("list", "--status", "cancelled", capsys=capsys) == {"messages": []}

    text = run("list", "--status", "failed", capsys=capsys)
    assert str(mixed["failed"].pk) in text and "report" in text and "main" in text
    assert run("list", "--limit", "1", capsys=capsys).count("\n") == 2  # head and one row


def test_list_refuses_an_unknown_status(mixed):
    with pytest.raises(CommandError):
        call_command("outbox", "list", "--status", "lost")


def test_stats_counts_statuses_the_oldest_waiting_and_the_recent_rate(mixed, capsys):
    stats = run_json("stats", capsys=capsys)
    assert stats["counts"] == {
        "queued": 1,
        "sending": 0,
        "sent": 2,
        "failed": 1,
        "held": 1,
        "cancelled": 0,
        "suppressed": 0,
    }
    assert stats["oldest_queued"]["id"] == mixed["queued"].pk
    assert 290 <= stats["oldest_queued"]["age_seconds"] <= 400
    assert stats["sent"] == {"last_minute": 2, "last_hour": 2}
    assert stats["failed"] == {"last_minute": 1, "last_hour": 1}
    assert stats["rate_per_second"]["last_minute"] == pytest.approx(2 / 60, abs=0.001)

    text = run("stats", capsys=capsys)
    assert "sent 2" in text and f"#{mixed['queued'].pk}" in text and "5 min" in text


def test_retry_makes_a_failed_message_due_and_says_what_it_left(mixed, capsys):
    failed, sent = mixed["failed"], mixed["sent"][0]
    with pytest.raises(SystemExit) as exit_:
        call_command("outbox", "retry", str(failed.pk), str(sent.pk), "999999")
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert "Retried 1 of 3 message(s)." in out
    assert f"#{sent.pk} is sent, not failed or waiting: left as it was." in out
    assert "#999999 not found" in out
    assert status(failed.pk) == "queued" and status(sent.pk) == "sent"


def test_retry_and_cancel_as_json(mixed, capsys):
    queued, held, sent = mixed["queued"], mixed["held"], mixed["sent"][0]
    call_command("outbox", "cancel", str(queued.pk), str(held.pk), "--json")
    done = json.loads(capsys.readouterr().out)
    assert done == {"action": "cancel", "done": [queued.pk, held.pk], "count": 2, "skipped": {}}
    assert status(queued.pk) == status(held.pk) == "cancelled"

    with pytest.raises(SystemExit):
        call_command("outbox", "cancel", str(sent.pk), "--json")
    refused = json.loads(capsys.readouterr().out)
    assert refused["count"] == 0
    assert refused["skipped"] == {str(sent.pk): "is sent, not queued or held"}
    assert status(sent.pk) == "sent"

    call_command("outbox", "retry", str(mixed["failed"].pk), "--json")
    assert json.loads(capsys.readouterr().out)["count"] == 1


def test_ids_that_are_not_numbers_are_refused_before_anything_changes(mixed):
    with pytest.raises(CommandError, match="Not a message id"):
        call_command("outbox", "cancel", str(mixed["queued"].pk), "12abc")
    assert status(mixed["queued"].pk) == "queued"


def test_purge_is_still_there(mixed, capsys):
    assert "deleted 0 message(s)" in run("purge", capsys=capsys)
