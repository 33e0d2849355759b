"""One page token carries one entry, even when a robot sends it many times at once."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from .conftest import Served, latency_limit, p99

PARALLEL = 16
SETUP = """
from postroom.accounts.models import User
from postroom.forms import builder
owner = User.objects.create_superuser("owner@example.com", "a-long-password-1")
form = builder.create_form("Once", owner, slug="once")
form.min_fill_seconds = 0
form.rate_limit = 0  # only the token stands in the way
form.save()
"""
COUNT_ENTRIES = """
from postroom.forms.models import Entry
print("ENTRIES=%d" % Entry.objects.filter(form__slug="once").count())
"""


def send(served: Served, token: str, number: int) -> tuple[int, dict]:
    body = urlencode(
        {
            "name": f"Robot {number}",
            "email": f"robot{number}@example.net",
            "message": "Buy now",
            "postroom_ts": token,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (127.0.0.1 only)
        f"{served.url}/f/once/", data=body, headers={"Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.timeout(120)
def test_one_token_sent_in_parallel_makes_one_entry(serve):
    served = serve()
    served.shell(SETUP)
    limit = latency_limit(served)
    token = served.get("/f/once/token/")[1].decode()
    results: list[tuple[int, dict]] = []
    start = threading.Barrier(PARALLEL)

    def robot(number: int) -> None:
        start.wait(10)
        results.append(send(served, token, number))

    threads = [threading.Thread(target=robot, args=(n,)) for n in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [400] * (PARALLEL - 1)
    for status, answer in results:
        if status == 400:
            assert answer["errors"]["__all__"][0].startswith("This page has already been sent")
    assert "ENTRIES=1" in served.shell(COUNT_ENTRIES)
    # Sent again later, one at a time, it is refused just the same.
    assert send(served, token, 99)[0] == 400
    assert p99(served.healthz_latencies(30)) < limit
