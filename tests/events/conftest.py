"""Test keys and signers for each provider, built as each provider documents its scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from django.core.mail import EmailMessage

MAILGUN_KEY = "key-mailgun-signing-0123456789abcdef"
POSTMARK_SECRET = "postmark-basic-auth-secret-42"
BREVO_SECRET = "brevo-bearer-token-secret-4242"
GENERIC_SECRET = "generic-hmac-secret-0123456789"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-events"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem"
SECRETS = (MAILGUN_KEY, POSTMARK_SECRET, BREVO_SECRET, GENERIC_SECRET)


@dataclass
class SendGridKeys:
    private: ec.EllipticCurvePrivateKey
    public_b64: str

    def sign(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        signature = self.private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": base64.b64encode(signature).decode(),
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": timestamp,
        }


@dataclass
class Sns:
    key: rsa.RSAPrivateKey
    pem: bytes
    fetched: list[str] = field(default_factory=list)

    def message(self, kind: str = "Notification", version: str = "1", **fields: Any) -> dict:
        message = {
            "Type": kind,
            "MessageId": fields.pop("MessageId", f"id-{time.time_ns()}"),
            "TopicArn": TOPIC,
            "Message": "{}",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z",
            "SignatureVersion": version,
            "SigningCertURL": CERT_URL,
            **fields,
        }
        if kind != "Notification":
            message.setdefault("Token", "token-123")
            message.setdefault(
                "SubscribeURL",
                "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=token-123",
            )
        return message

    def sign(self, message: dict) -> bytes:
        from postroom.events.verify.sns import string_to_sign

        # SNS signature version 1 is SHA1withRSA, as AWS documents it.
        digest = hashes.SHA1() if message["SignatureVersion"] == "1" else hashes.SHA256()  # noqa: S303
        signature = self.key.sign(string_to_sign(message), padding.PKCS1v15(), digest)
        return json.dumps({**message, "Signature": base64.b64encode(signature).decode()}).encode()


@pytest.fixture
def sendgrid_keys(monkeypatch) -> SendGridKeys:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    keys = SendGridKeys(private, base64.b64encode(der).decode())
    monkeypatch.setenv("Postroom__Events__SendGrid__PublicKey", keys.public_b64)
    return keys


@pytest.fixture
def secrets_configured(monkeypatch) -> None:
    monkeypatch.setenv("Postroom__Events__Mailgun__SigningKey", MAILGUN_KEY)
    monkeypatch.setenv("Postroom__Events__Postmark__Secret", POSTMARK_SECRET)
    monkeypatch.setenv("Postroom__Events__Brevo__Secret", BREVO_SECRET)
    monkeypatch.setenv("Postroom__Events__Generic__Secret", GENERIC_SECRET)
    monkeypatch.setenv("Postroom__Events__Ses__TopicArn", TOPIC)


@pytest.fixture(scope="session")
def sns_certificate() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def sns(monkeypatch, sns_certificate, secrets_configured) -> Sns:
    from postroom.events.verify import sns as module

    key, pem = sns_certificate
    fake = Sns(key, pem)

    def fetcher(url: str) -> bytes:
        fake.fetched.append(url)
        return pem if url == CERT_URL else b"<ConfirmSubscriptionResponse/>"

    monkeypatch.setattr(module, "fetcher", fetcher)
    monkeypatch.setattr(module, "_certificates", {})
    return fake


def mailgun_body(event_data: dict, timestamp: str | None = None, token: str = "") -> bytes:
    timestamp = timestamp or str(int(time.time()))
    token = token or hashlib.sha256(str(time.time_ns()).encode()).hexdigest()[:50]
    signature = hmac.new(
        MAILGUN_KEY.encode(), (timestamp + token).encode(), hashlib.sha256
    ).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": timestamp, "token": token, "signature": signature},
            "event-data": event_data,
        }
    ).encode()


def generic_headers(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    from postroom.events.verify.generic import sign

    timestamp = timestamp or str(int(time.time()))
    return {
        "HTTP_X_POSTROOM_TIMESTAMP": timestamp,
        "HTTP_X_POSTROOM_SIGNATURE": sign(GENERIC_SECRET, timestamp, body),
    }


def basic_auth(secret: str) -> dict[str, str]:
    token = base64.b64encode(f"postroom:{secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def post(client, provider: str, body: bytes, **headers: str):
    return client.post(
        f"/events/{provider}/", data=body, content_type="application/json", **headers
    )


@pytest.fixture
def sent_message(db):
    """A message the provider accepted: to two recipients, with the provider's id kept."""

    def make(to=("ann@example.com", "bob@example.com"), provider_id="4F2ABC") -> Any:
        from django.utils import timezone

        from postroom.delivery.enqueue import enqueue
        from postroom.delivery.models import OutboxMessage, Status

        row = enqueue(EmailMessage("Hello", "Body", "site@example.com", list(to)))
        OutboxMessage.objects.filter(pk=row.pk).update(
            status=Status.SENT,
            sent_at=timezone.now(),
            provider_message_id=provider_id,
            recipient_status={address: "accepted" for address in to},
        )
        row.refresh_from_db()
        return row

    return make
