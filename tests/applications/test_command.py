"""`postroom apps create|list|disable|enable|rotate`."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from postroom.applications import credentials
from postroom.applications.models import Application

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("apps", *args, stdout=out)
    return out.getvalue()


def test_create_prints_the_secret_once_as_json():
    data = json.loads(run("create", "Shop", "--from-domain", "example.org", "--json"))
    assert set(data) == {"name", "username", "secret"}
    assert data["username"] == "app_shop"
    application = credentials.authenticate("app_shop", data["secret"])
    assert application is not None and application.allowed_senders == ["example.org"]
    listing = run("list") + run("list", "--json")
    assert data["secret"] not in listing and "app_shop" in listing


def test_create_with_networks_limits_and_trust():
    run(
        "create", "Bench", "--from-domain", "*", "--network", "127.0.0.1",
        "--trusted-network", "--rate-limit", "600",
    )  # fmt: skip
    application = Application.objects.get()
    assert application.client_networks == ["127.0.0.1/32"]
    assert application.trusted_network_no_login and application.rate_limit_per_minute == 600


@pytest.mark.parametrize(
    "args",
    [
        ("create", "Shop", "--from-domain", "not a domain!"),
        ("create", "Shop", "--from-domain", "example.org", "--network", "300.1.1.1/8"),
        ("create", "Shop"),  # no sender: it could send nothing at all
        ("create", "Shop", "--from-domain", "example.org", "--rate-limit", "0"),
        ("create", "Shop", "--from-domain", "example.org", "--rate-limit", "-5"),
    ],
)
def test_create_refuses_bad_values(args):
    # 0 was once taken as "no limit", and -5 ended in an IntegrityError traceback.
    with pytest.raises(CommandError, match="neither a domain|300.1.1.1|at least"):
        run(*args)
    assert not Application.objects.exists()


def test_create_refuses_a_taken_name():
    run("create", "Shop", "--from-domain", "example.org")
    with pytest.raises(CommandError, match="exists"):
        run("create", "shop", "--from-domain", "example.org")


def test_disable_and_enable():
    secret = json.loads(run("create", "Shop", "--from-domain", "example.org", "--json"))["secret"]
    run("disable", "app_shop")
    assert credentials.authenticate_bearer(secret) is None
    run("enable", "Shop")
    assert credentials.authenticate_bearer(secret) is not None
    with pytest.raises(CommandError, match="No application"):
        run("disable", "nobody")


def test_rotate_with_and_without_grace():
    old = json.loads(run("create", "Shop", "--from-domain", "example.org", "--json"))["secret"]
    new = json.loads(run("rotate", "Shop", "--grace", "1h", "--json"))["secret"]
    assert credentials.authenticate_bearer(old) and credentials.authenticate_bearer(new)
    newest = json.loads(run("rotate", "Shop", "--json"))["secret"]
    assert credentials.authenticate_bearer(old) is None
    assert credentials.authenticate_bearer(new) is None
    assert credentials.authenticate_bearer(newest)
    with pytest.raises(CommandError, match="duration"):
        run("rotate", "Shop", "--grace", "soon")
