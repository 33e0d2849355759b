"""Ids no database can hold never crash a page: every URL and parameter that takes an id
answers 4xx to 2**63, 10**30, -1 and words, on SQLite (which refuses integers beyond 64 bits)
and on PostgreSQL (run with DATABASE_URL set)."""

from __future__ import annotations

import pytest

from security.routes import fill, int_routes

pytestmark = pytest.mark.django_db

OUT_OF_RANGE = ["9223372036854775808", str(10**30), "-1", "abc", "1e3", "", "٣"]
HUGE = [*OUT_OF_RANGE, "9223372036854775807", "0"]


def test_every_url_that_takes_an_id_answers_4xx_to_ids_out_of_range(admin_client, rows):
    routes = list(int_routes())
    assert len(routes) > 30, "the URL walk found too few routes"
    answers = {}
    for route, names in routes:
        for name in names:
            for value in HUGE:
                url = fill(route, rows.values_for(route) | {name: value})
                for method in (admin_client.get, admin_client.post):
                    status = method(url).status_code
                    answers[(method.__name__, url)] = status
    crashed = {key: status for key, status in answers.items() if status >= 500}
    assert not crashed
    # A redirect is fine where the view acts on "whatever matches", e.g. retrying a run
    # that does not exist; but nothing answers as if an impossible id were a real row.
    assert not {key for key, status in answers.items() if status == 200}


def test_bulk_actions_refuse_ids_out_of_range_without_acting(admin_client, rows):
    from postroom.delivery.models import OutboxMessage

    outbox_pk = rows.pk_by_prefix["/outbox/"]
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
def test_list_pages_take_any_page_number(admin_client, rows, path):
    path = path.format(form=rows.pk_by_prefix["/forms/"])
    for value in HUGE:
        assert admin_client.get(path, {"page": value}).status_code == 200, value
