"""Administrators learn when mail fails for good or the queue is stuck."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

from postroom.delivery import alerts
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import OutboxMessage
from postroom.delivery.policy import DeliveryPolicy

pytestmark = pytest.mark.django_db


def fail(n):
    rows = [enqueue(EmailMessage(f"Order {i}", "Body", to=["c@example.net"])) for i in range(n)]
    OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).update(
        status="failed", failed_at=timezone.now(), last_reply="550 5.1.1 No such user"
    )
    return rows


@pytest.fixture
def webhook():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook?token=abc", received
    server.shutdown()


def test_failures_alert_administrators_by_email_and_webhook(administrator, webhook):
    url, received = webhook
    fail(3)
    problems = alerts.check(DeliveryPolicy(alert_webhook_url=url))
    assert problems.failed == 3
    alert = OutboxMessage.objects.get(channel="fallback")
    assert alert.to == "admin@example.com"
    assert alert.subject == "[Postroom] 3 messages failed for good."
    assert "550 5.1.1 No such user" in bytes(alert.raw).decode()
    assert received[0]["failed"] == 3
    assert received[0]["summary"] == "3 messages failed for good."


def test_alerts_are_throttled(administrator):
    fail(1)
    policy = DeliveryPolicy(alert_every=timedelta(hours=1))
    assert alerts.check(policy) is not None
    fail(1)
    assert alerts.check(policy) is None
    assert OutboxMessage.objects.filter(channel="fallback").count() == 1


def test_a_failed_alert_does_not_raise_another_alert(administrator):
    fail(1)
    alerts.check(DeliveryPolicy(alert_every=timedelta(seconds=0)))
    OutboxMessage.objects.filter(channel="fallback").update(
        status="failed", failed_at=timezone.now()
    )
    OutboxMessage.objects.filter(channel="site").delete()
    assert alerts.check(DeliveryPolicy(alert_every=timedelta(seconds=0))) is None


def test_a_stuck_queue_is_reported(administrator):
    (old,) = [enqueue(EmailMessage("Old", "Body", to=["c@example.net"]))]
    OutboxMessage.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(minutes=45)
    )
    problems = alerts.check(DeliveryPolicy(stuck_after=timedelta(minutes=30)))
    assert problems.oldest_queued_minutes == 45
    assert "the queue is stuck" in problems.summary().lower()


def test_an_unreachable_webhook_is_logged_without_its_url(caplog):
    ok = alerts.post_webhook("http://127.0.0.1:9/hook?token=s3cr3t", alerts.Problems(failed=1))
    assert not ok
    assert "s3cr3t" not in caplog.text
    assert "could not be reached" in caplog.text


def test_the_dashboard_shows_a_banner_when_mail_failed(admin_client):
    fail(2)
    html = admin_client.get("/").content.decode()
    assert "2 messages failed in the last 24 hours" in html


@pytest.fixture
def garbage_server():
    """A port that answers every connection with a line that is not HTTP, then hangs up."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)  # to look at ``stop`` between connections
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(b"NOT-HTTP garbage\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    listener.close()


def test_a_webhook_answering_garbage_neither_raises_nor_logs_its_url(garbage_server, caplog):
    url = f"http://127.0.0.1:{garbage_server}/hook/s3cr3t-token?key=s3cr3t"

    assert alerts.post_webhook(url, alerts.Problems(failed=1)) is False
    assert "could not be reached" in caplog.text
    assert "s3cr3t" not in caplog.text
    assert "127.0.0.1" not in caplog.text  # the reason only, without the host


def test_a_failing_webhook_does_not_stop_the_alert_chore(administrator, garbage_server, caplog):
    fail(1)
    url = f"http://127.0.0.1:{garbage_server}/hook/s3cr3t-token"
    policy = DeliveryPolicy(alert_every=timedelta(seconds=0), alert_webhook_url=url)

    problems = alerts.check(policy)

    assert problems is not None and problems.failed == 1
    assert "s3cr3t" not in caplog.text + repr(policy)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/s3cr3t", "s3cr3t"])
def test_a_webhook_url_that_is_not_http_is_never_opened(url, caplog):
    assert alerts.post_webhook(url, alerts.Problems(failed=1)) is False
    assert "cannot be used" in caplog.text
    assert "s3cr3t" not in caplog.text


def test_a_failed_test_email_never_alerts(administrator):
    rows = fail(1)
    OutboxMessage.objects.filter(pk=rows[0].pk).update(kind="test")
    assert alerts.check(DeliveryPolicy()) is None
    assert not OutboxMessage.objects.filter(channel="fallback").exists()


def test_the_alert_email_links_to_the_filtered_log(administrator, monkeypatch):
    monkeypatch.setenv("POSTROOM_BASE_URL", "https://mail.example.com")
    rows = fail(1)
    alerts.check(DeliveryPolicy())
    body = bytes(OutboxMessage.objects.get(channel="fallback").raw).decode()
    assert "https://mail.example.com/outbox/?status=failed&period=24h" in body
    assert f"https://mail.example.com/outbox/{rows[0].pk}/" in body
