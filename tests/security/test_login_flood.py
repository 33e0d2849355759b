"""A flood of logins with random email addresses from one client address.

Without a budget per address each of them cost a production Argon2 hash (about 0.15 s of
CPU and 100 MB): 16 threads for 12 s pushed /healthz to a median of 2 s and the process to
889 MB. Now the address gets 20 failures, after which it is answered at once, unhashed.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from .conftest import p99
from .test_accounts import ADMIN, LOCKED, PASSWORD, Browser, set_up_administrator

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

ATTACKERS = 8
ATTACK_SECONDS = 8.0
GENERIC = b"Please enter a correct email address and password."


def test_a_login_flood_from_one_address_leaves_the_site_responsive(serve):
    served = serve()
    set_up_administrator(served.web_port)
    baseline = p99(served.healthz_latencies(30))
    rss_before = served.rss_bytes()

    stop = time.monotonic() + ATTACK_SECONDS
    answers: list[bytes] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attack() -> None:
        try:
            browser = Browser(served.web_port, source="127.0.0.2")
            browser.request("GET", "/login/")  # the CSRF cookie
            while time.monotonic() < stop:
                email = f"{uuid.uuid4().hex[:12]}@example.com"
                status, _, page = browser.request(
                    "POST", "/login/", {"username": email, "password": "guess"}
                )
                assert status == 200, status
                with lock:
                    answers.append(page)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=attack, daemon=True) for _ in range(ATTACKERS)]
    for thread in threads:
        thread.start()
    during: list[float] = []
    while time.monotonic() < stop:
        during += served.healthz_latencies(5)
    for thread in threads:
        thread.join(60)
    rss_growth = served.rss_bytes() - rss_before

    checked = sum(GENERIC in page for page in answers)
    locked = sum(LOCKED in page for page in answers)
    print(
        f"login flood: {len(answers)} posts, {checked} checked, {locked} locked; "
        f"/healthz p99 {p99(during) * 1000:.0f} ms (baseline {baseline * 1000:.0f} ms); "
        f"RSS +{rss_growth / 2**20:.0f} MB"
    )
    assert not errors, errors[:3]
    assert len(answers) > 40  # the flood did run, and was answered
    assert checked <= 20  # the address's budget: no more passwords hashed
    assert p99(during) < max(0.5, 3 * baseline)
    assert rss_growth < 300 * 2**20

    status, _ = Browser(served.web_port, source="127.0.0.1").log_in(ADMIN, PASSWORD)
    assert status == 302  # the administrator, elsewhere, still gets in at once
    assert max(served.healthz_latencies(10)) < 5.0
