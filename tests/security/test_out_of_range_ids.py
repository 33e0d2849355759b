"""Ids no database can hold never crash a page: every URL and parameter that takes an id
answers 4xx to 2**63, 10**30, -1 and words, on SQLite and on PostgreSQL (which raises on
bigint overflow where SQLite only misses)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.core.mail import EmailMessage
from django.urls import URLPattern, URLResolver, get_resolver

from postroom.accounts.invitations import invite
from postroom.delivery.enqueue import enqueue
from postroom.forms import builder
from postroom.inbox.models import CaughtMessage

pytestmark = pytest.mark.django_db

OUT_OF_RANGE = ["9223372036854775808", str(10**30), "-1", "abc", "1e3", "", "٣"]
HUGE = [*OUT_OF_RANGE, "9223372036854775807", "0"]
INT_PARAM = re.compile(r"<int:(\w+)>")


def int_routes() -> Iterator[tuple[str, list[str]]]:
    """Every URL route with an ``<int:...>`` part: (route, names of its int parts)."""

    def walk(patterns, prefix: str) -> Iterator[str]:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                yield route

    for route in walk(get_resolver().url_patterns, "/"):
        names = INT_PARAM.findall(route)
        if names:
            yield route, names


def fill(route: str, values: dict[str, str]) -> str:
    return INT_PARAM.sub(lambda match: values[match[1]], route)


@pytest.fixture
def things(administrator) -> dict[str, str]:
    """One real row of every kind, so that only the id under test is out of range."""
    form = builder.create_form("Contact us", administrator)
    field = form.fields.first()
    workflow = form.workflows.first()
    entry = form.entries.create(values={}, ip="127.0.0.1")
    outbox = enqueue(EmailMessage("Hi", "Body", "a@example.org", ["b@example.net"]), kind="system")
    caught = CaughtMessage.from_envelope("a@example.org", ["b@example.net"], b"Subject: x\r\n\r\nx")
    caught.save()
    invitation = invite(
        email="new@example.com",
        name="New",
        role="editor",
        message="",
        invited_by=administrator,
        request=None,
    )
    real = {"field_id": field.pk, "workflow_id": workflow.pk, "entry_id": entry.pk}
    real |= {"upload_id": 1, "run_id": 1, "index": 0}
    by_prefix = {"/users/invitations/": invitation.invitation.pk, "/users/": administrator.pk}
    by_prefix |= {"/outbox/": outbox.pk, "/inbox/": caught.pk, "/forms/": form.pk}
    return {"real": real, "by_prefix": by_prefix}


def real_values(route: str, names: list[str], things) -> dict[str, str]:
    pk = next(value for prefix, value in things["by_prefix"].items() if route.startswith(prefix))
    return {name: str(things["real"].get(name, pk)) for name in names}


def test_every_url_that_takes_an_id_answers_4xx_to_ids_out_of_range(admin_client, things):
    routes = list(int_routes())
    assert len(routes) > 30, "the URL walk found too few routes"
    answers = {}
    for route, names in routes:
        for name in names:
            for value in HUGE:
                url = fill(route, real_values(route, names, things) | {name: value})
                for method in (admin_client.get, admin_client.post):
                    status = method(url).status_code
                    answers[(method.__name__, url)] = status
    crashed = {key: status for key, status in answers.items() if status >= 500}
    assert not crashed
    # A redirect is fine where the view acts on "whatever matches", e.g. retrying a run
    # that does not exist; but nothing answers as if an impossible id were a real row.
    assert not {key for key, status in answers.items() if status == 200}


def test_bulk_actions_refuse_ids_out_of_range_without_acting(admin_client, things):
    from postroom.delivery.models import OutboxMessage

    outbox_pk = things["by_prefix"]["/outbox/"]
    before = list(OutboxMessage.objects.values_list("pk", "status"))
    for action in ("resend", "cancel", "retry"):
        for value in OUT_OF_RANGE:
            response = admin_client.post(
                "/outbox/bulk/", {"action": action, "ids": [str(outbox_pk), value]}
            )
            assert response.status_code == 400, (action, value)
            assert b"not a message number" in response.content
            response = admin_client.post(
                "/outbox/bulk/", {"action": action, "scope": "all", "max_id": value}
            )
            assert response.status_code == 400, (action, value)
    assert list(OutboxMessage.objects.values_list("pk", "status")) == before


@pytest.mark.parametrize(
    "path",
    ["/outbox/", "/inbox/", "/forms/", "/users/", "/users/invitations/", "/forms/{form}/entries/"],
)
def test_list_pages_take_any_page_number(admin_client, things, path):
    path = path.format(form=things["by_prefix"]["/forms/"])
    for value in HUGE:
        assert admin_client.get(path, {"page": value}).status_code == 200, value
