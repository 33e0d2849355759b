"""Application secrets: made once, stored hashed, checked by username or bearer, rotated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from postroom.applications import credentials
from postroom.applications.models import Application, ApplicationSecret, single_mailbox

pytestmark = pytest.mark.django_db


def test_create_gives_a_username_and_a_secret_stored_only_as_a_digest():
    app, secret = credentials.create_application("Shop site", ["example.org"])
    assert app.username == "app_shop_site"
    assert secret.startswith("pr_")
    row = ApplicationSecret.objects.get(application=app)
    assert secret not in row.digest and row.digest == credentials.digest(secret)
    assert row.lookup in secret


def test_usernames_stay_unique_for_similar_names():
    first, _ = credentials.create_application("Shop", ["example.org"])
    second, _ = credentials.create_application("shop!", ["example.org"])
    assert (first.username, second.username) == ("app_shop", "app_shop_2")


def test_authenticate_needs_the_right_username_and_secret():
    app, secret = credentials.create_application("Shop", ["example.org"])
    other, other_secret = credentials.create_application("Blog", ["example.org"])
    assert credentials.authenticate("app_shop", secret) == app
    assert credentials.authenticate("app_blog", secret) is None
    assert credentials.authenticate("app_shop", other_secret) is None
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert credentials.authenticate("app_shop", tampered) is None
    assert credentials.authenticate("app_shop", "") is None
    assert credentials.authenticate_bearer(secret) == app
    assert credentials.authenticate_bearer("pr_000000000000_" + "a" * 43) is None
    assert credentials.authenticate_bearer("nonsense") is None


def test_a_disabled_application_cannot_authenticate():
    app, secret = credentials.create_application("Shop", ["example.org"])
    Application.objects.filter(pk=app.pk).update(enabled=False)
    assert credentials.authenticate_bearer(secret) is None
    assert credentials.authenticate("app_shop", secret) is None


def test_rotation_keeps_the_old_secret_for_the_grace_period_only():
    app, old = credentials.create_application("Shop", ["example.org"])
    new = credentials.rotate(app, timedelta(hours=1))
    assert new != old
    assert credentials.authenticate_bearer(old) == app
    assert credentials.authenticate_bearer(new) == app
    ApplicationSecret.objects.filter(valid_until__isnull=False).update(
        valid_until=timezone.now() - timedelta(seconds=1)
    )
    assert credentials.authenticate_bearer(old) is None
    assert credentials.authenticate_bearer(new) == app


def test_rotation_without_grace_stops_the_old_secret_at_once():
    app, old = credentials.create_application("Shop", ["example.org"])
    new = credentials.rotate(app, timedelta(0))
    assert credentials.authenticate_bearer(old) is None
    assert credentials.authenticate_bearer(new) == app


def test_allowed_senders_are_addresses_or_exact_domains():
    app = Application(allowed_senders=["example.org", "news@other.net"])
    assert app.may_send_from("ann@example.org")
    assert app.may_send_from("Ann <ANN@Example.ORG>")
    assert app.may_send_from("news@other.net")
    assert not app.may_send_from("ann@other.net")
    assert not app.may_send_from("ann@sub.example.org")
    assert not app.may_send_from("ann@example.org.evil.com")
    assert not app.may_send_from("example.org")
    assert not app.may_send_from("")
    assert Application(allowed_senders=["*"]).may_send_from("any@where.com")
    assert not Application(allowed_senders=[]).may_send_from("ann@example.org")


@pytest.mark.parametrize(
    "value",
    [
        "ann@example.org, evil@other.net",
        "evil@other.net, ann@example.org",
        "ann@example.org <evil@other.net>",
        "<ann@example.org> evil@other.net",
        "ann@example.org;evil@other.net",
        'ann@example.org" <evil@other.net>',
        "Ann <ann@example.org>, <evil@other.net>",
        "ann@example.org\r\nBcc: evil@other.net",
    ],
)
def test_a_value_holding_another_address_is_never_an_allowed_sender(value):
    # parseaddr reads each of these as ann@example.org; a mail program shows evil@other.net.
    assert not Application(allowed_senders=["example.org"]).may_send_from(value)
    assert not Application(allowed_senders=["*"]).may_send_from(value)
    assert single_mailbox(value) is None


@pytest.mark.parametrize(
    "value",
    [
        '"Shop, Inc" <ann@example.org>',
        "=?utf-8?q?Zo=C3=AB?= <ann@example.org>",
        "Zoë <ann@example.org>",
        "ann@example.org (Ann)",
        '"evil@other.net" <ann@example.org>',
    ],
)
def test_display_names_and_comments_keep_their_one_address(value):
    assert single_mailbox(value) == "ann@example.org"
    assert Application(allowed_senders=["example.org"]).may_send_from(value)


def test_client_networks():
    app = Application(client_networks=["10.0.0.0/8", "::1/128"])
    assert app.allows_client("10.1.2.3")
    assert app.allows_client("::ffff:10.1.2.3")
    assert app.allows_client("::1")
    assert not app.allows_client("192.168.1.1")
    assert not app.allows_client("not an ip")
    assert Application(client_networks=[]).allows_client("203.0.113.9")


def test_trusted_network_counts_only_for_loopback_clients():
    app, _ = credentials.create_application(
        "Bench", ["*"], client_networks=["0.0.0.0/0"], trusted_network_no_login=True
    )
    assert credentials.trusted_application_for("127.0.0.1") == app
    assert credentials.trusted_application_for("::ffff:127.0.0.1") == app
    assert credentials.trusted_application_for("10.0.0.1") is None
    Application.objects.filter(pk=app.pk).update(enabled=False)
    assert credentials.trusted_application_for("127.0.0.1") is None


def test_no_trusted_application_without_the_flag():
    credentials.create_application("Shop", ["example.org"])
    assert credentials.trusted_application_for("127.0.0.1") is None


@pytest.mark.parametrize(
    ("senders", "networks"),
    [(["bad domain"], []), (["@example.org"], []), (["example.org"], ["10.0.0.0/33"])],
)
def test_create_application_refuses_bad_senders_and_networks(senders, networks):
    with pytest.raises(ValueError):
        credentials.create_application("Shop", senders, client_networks=networks)
    assert not Application.objects.exists()


def test_a_secret_in_a_log_line_is_masked():
    from postroom.redact import scrub

    _, secret = credentials.create_application("Shop", ["example.org"])
    assert secret not in scrub(f"AUTH failed for app_shop with {secret} from 10.0.0.1")
