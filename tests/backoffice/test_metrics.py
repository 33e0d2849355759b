"""``/metrics``: Prometheus metrics read from the database, for loopback or a token holder."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from postroom.delivery import worker
from postroom.delivery.models import OutboxMessage, WorkerHeartbeat
from sites import queue_mail, use_smtp_server

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-0123456789abcdef"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} for every sample the text holds."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_count_the_queue_the_attempts_and_the_workers(client, isolated_site, smtp_server):
    server = smtp_server(refuse={"later@example.net": "450 4.2.1 Mailbox busy"})
    use_smtp_server(isolated_site, server.port)
    queue_mail(2)
    queue_mail(1, to=("later@example.net",), kind="report")
    queue_mail(1, kind="test", to=("later@example.net",))
    worker.run_once()
    queue_mail(1)  # still waiting
    OutboxMessage.objects.filter(status="queued", attempt_count=0).update(
        created_at=timezone.now() - timedelta(minutes=3)
    )
    WorkerHeartbeat.objects.create(
        worker_id="host-a:42:1", hostname="host-a", pid=42, delivered=7, failed=1
    )

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    found = samples(response.content.decode())
    assert found[("postroom_outbox_messages", (("status", "sent"),))] == 2
    assert found[("postroom_outbox_messages", (("status", "queued"),))] == 2
    assert found[("postroom_outbox_messages", (("status", "failed"),))] == 1
    assert found[("postroom_outbox_oldest_waiting_seconds", ())] >= 170
    main_form = (("connection", "main"), ("kind", "form"))
    assert found[("postroom_messages_sent_total", main_form)] == 2
    assert found[("postroom_messages_retried_total", (("connection", "main"), ("kind", "report")))]
    assert found[("postroom_messages_failed_total", (("connection", "main"), ("kind", "test")))]
    assert found[("postroom_delivery_latency_seconds_count", ())] == 2
    assert found[("postroom_delivery_latency_seconds_bucket", (("le", "+Inf"),))] == 2
    assert found[("postroom_delivery_latency_seconds_bucket", (("le", "60.0"),))] == 2
    assert found[("postroom_workers_alive", ())] == 1
    beat = (("host", "host-a"), ("worker", "host-a:42:1"))
    assert found[("postroom_worker_messages_delivered_total", beat)] == 7
    assert found[("postroom_worker_last_seen_timestamp_seconds", beat)] > 1.7e9


def test_mail_sent_over_the_backup_is_counted_under_backup(
    client, isolated_site, smtp_server, refused_port, monkeypatch
):
    spare = smtp_server()
    use_smtp_server(isolated_site, refused_port)
    monkeypatch.setenv("Postroom__Smtp__Backup__Host", "127.0.0.1")
    monkeypatch.setenv("Postroom__Smtp__Backup__Port", str(spare.port))
    monkeypatch.setenv("Postroom__Smtp__Backup__SecureSocketOptions", "None")
    queue_mail(3)
    worker.run_once()
    found = samples(client.get("/metrics").content.decode())
    assert (
        found[("postroom_messages_sent_total", (("connection", "backup"), ("kind", "form")))] == 3
    )
    assert ("postroom_messages_sent_total", (("connection", "main"), ("kind", "form"))) not in found


def test_other_machines_are_refused_without_a_token(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert b"POSTROOM_METRICS_TOKEN" in response.content
    assert b"postroom_outbox" not in response.content


def test_loopback_through_a_proxy_is_refused(client):
    response = client.get("/metrics", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == 403


def test_ipv6_and_mapped_loopback_are_allowed(client):
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:127.0.0.1").status_code == 200


def test_with_a_token_only_its_holder_gets_the_metrics_from_anywhere(client, monkeypatch):
    monkeypatch.setenv("POSTROOM_METRICS_TOKEN", TOKEN)
    assert client.get("/metrics").status_code == 401  # loopback is not enough any more
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    assert TOKEN.encode() not in wrong.content
    right = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert right.status_code == 200 and b"postroom_outbox_messages" in right.content


def test_a_short_token_is_a_problem_and_keeps_metrics_on_loopback(client, monkeypatch):
    from postroom.config import current_config

    monkeypatch.setenv("POSTROOM_METRICS_TOKEN", "short")
    [problem] = current_config().problems_of("hosting", "POSTROOM_METRICS_TOKEN")
    assert "at least 16" in problem.message and "short" not in problem.message
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403


def test_only_get_is_answered(client):
    assert client.post("/metrics").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_metrics_work_through_the_web_server_before_setup_without_a_session(monkeypatch, tmp_path):
    from postroom.backoffice import webserver

    monkeypatch.setenv("POSTROOM_DATA", str(tmp_path))
    queue_mail(1)
    server = webserver.create_web_server("127.0.0.1", 0, threads=2)
    port = server.socket.getsockname()[1]
    stop = threading.Event()
    thread = threading.Thread(target=webserver.serve_until, args=(server, stop, 0.1))
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            body = answer.read().decode()
            cookies = answer.headers.get_all("Set-Cookie") or []
        assert answer.status == 200  # no redirect to /setup/ although no user exists yet
        assert samples(body)[("postroom_outbox_messages", (("status", "queued"),))] == 1
        assert cookies == []
    finally:
        stop.set()
        thread.join(10)
