"""Amazon SES through SNS: the SNS signature (versions 1 and 2) with a certificate fetched from
an SNS host only, the subscription confirmed, and SES's bounce/complaint/delivery events."""

from __future__ import annotations

import json

import pytest

from events.conftest import CERT_URL, post
from postroom.delivery.models import RecipientEvent, Suppression

pytestmark = pytest.mark.django_db


def ses_bounce(message) -> str:
    return json.dumps(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": "bob@example.com",
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
                "timestamp": "2026-12-01T10:00:00.000Z",
                "feedbackId": "0100017c-feedback",
            },
            "mail": {
                "timestamp": "2026-12-01T09:59:00.000Z",
                "messageId": message.provider_message_id,
                "source": "site@example.com",
                "destination": ["ann@example.com", "bob@example.com"],
                "commonHeaders": {"messageId": message.message_id},
            },
        }
    )


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_bounce_notification_is_recorded(client, sns, sent_message, version):
    message = sent_message(
        provider_id="0100018c2f0e8a1b-5e3f7a9c-1111-2222-3333-444455556666-000000"
    )
    body = sns.sign(sns.message(version=version, Message=ses_bounce(message)))

    response = post(client, "ses", body)

    assert response.status_code == 200, response.content
    event = RecipientEvent.objects.get()
    assert (event.message, event.recipient, event.bounce_type) == (
        message,
        "bob@example.com",
        "hard",
    )
    assert "550 5.1.1 user unknown" in event.detail
    assert Suppression.objects.get().reason == "hard_bounce"
    assert sns.fetched == [CERT_URL]


def test_ses_message_tags_find_the_message(client, sns, sent_message):
    message = sent_message(provider_id="")
    event = {
        "eventType": "Delivery",
        "mail": {
            "messageId": "other",
            "tags": {"postroom_id": [message.tracking_id]},
            "destination": ["ann@example.com"],
        },
        "delivery": {
            "timestamp": "2026-12-01T10:00:00Z",
            "recipients": ["ann@example.com"],
            "smtpResponse": "250 ok",
        },
    }
    body = sns.sign(sns.message(Message=json.dumps(event)))

    assert post(client, "ses", body).status_code == 200
    assert RecipientEvent.objects.get().message == message


def test_a_certificate_url_off_the_sns_hosts_is_refused_without_fetching(client, sns, sent_message):
    for url in (
        "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem",
        "http://sns.eu-west-1.amazonaws.com/cert.pem",
        "https://evil.example/sns.eu-west-1.amazonaws.com/cert.pem",
        # another region than the topic's, or not a signing certificate's path
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=x",
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem?x=1",
    ):
        body = sns.sign(sns.message(Message=ses_bounce(sent_message()), SigningCertURL=url))
        assert post(client, "ses", body).status_code == 401
    assert sns.fetched == []
    assert not RecipientEvent.objects.exists()


def test_a_changed_message_or_another_topic_is_refused(client, sns, sent_message):
    message = sent_message()
    body = sns.sign(sns.message(Message=ses_bounce(message)))
    changed = body.replace(b"Permanent", b"Transient")
    other_topic = sns.sign(
        sns.message(Message=ses_bounce(message), TopicArn="arn:aws:sns:eu-west-1:999999999999:x")
    )

    assert post(client, "ses", changed).status_code == 401
    assert post(client, "ses", other_topic).status_code == 401
    assert not RecipientEvent.objects.exists()


def test_the_subscription_is_confirmed_once_its_signature_holds(client, sns):
    body = sns.sign(sns.message("SubscriptionConfirmation", Message="You have chosen..."))

    response = post(client, "ses", body)

    assert response.status_code == 200
    assert response.json()["note"] == "subscription confirmed"
    assert sns.fetched[-1].startswith("https://sns.eu-west-1.amazonaws.com/?Action=Confirm")


def test_a_subscribe_url_off_the_sns_hosts_is_never_visited(client, sns):
    body = sns.sign(
        sns.message("SubscriptionConfirmation", SubscribeURL="https://evil.example/confirm")
    )

    assert post(client, "ses", body).status_code == 401
    assert "https://evil.example/confirm" not in sns.fetched


def test_a_failing_certificate_fetch_is_a_refusal_not_an_error_page(client, sns, monkeypatch):
    from postroom.events.verify import sns as module

    def unreachable(url: str) -> bytes:
        raise TimeoutError("timed out")

    monkeypatch.setattr(module, "fetcher", unreachable)
    body = sns.sign(sns.message())

    response = post(client, "ses", body)

    assert response.status_code == 401
    assert "could not be fetched" in response.json()["error"]


def test_the_real_fetcher_has_a_timeout():
    import inspect

    from postroom.events.verify import sns as module

    assert module.FETCH_TIMEOUT <= 10
    assert "timeout=FETCH_TIMEOUT" in inspect.getsource(module.fetch)


def test_the_real_fetcher_follows_no_redirect():
    import threading
    import urllib.error
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from postroom.events.verify import sns as module

    class Redirecting(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Redirecting)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        with pytest.raises(urllib.error.HTTPError):
            module.fetch(f"http://127.0.0.1:{server.server_port}/cert.pem")
    finally:
        thread.join(5)
        server.server_close()
