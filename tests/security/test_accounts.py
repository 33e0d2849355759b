"""Attacks on accounts: lockout from elsewhere, reset timing, forged Host headers in links.

Each talks HTTP to a real `postroom serve` on 127.0.0.1 (the attacker's socket bound to
127.0.0.2 where it matters), is bounded in count and time, and checks the service answers.
"""

from __future__ import annotations

import http.client
import re
import statistics
import time
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.timeout(300)

ADMIN = "admin@example.com"
PASSWORD = "a-long-admin-passphrase"
LOCKED = b"temporarily locked"
GENEROUS_LIMITS = {
    "Umbraco__CMS__Security__AllowPasswordReset": "true",
    "Postroom__Security__PasswordResetsPerHourPerAddress": "10000",
    "Postroom__Security__PasswordResetsPerHourPerAccount": "100",
}


class Browser:
    """Cookies and CSRF tokens over one keep-alive connection from ``source`` (an address)."""

    def __init__(self, port: int, source: str = "127.0.0.1", host: str | None = None) -> None:
        self.connection = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=30, source_address=(source, 0)
        )
        self.host = host or f"127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, host: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"Host": host or self.host, "Connection": "keep-alive"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            form = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **form}
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, dict(response.headers), content

    def post_form(self, path: str, form: dict[str, str], host: str | None = None):  # noqa: ANN201
        self.request("GET", path)  # the CSRF cookie
        return self.request("POST", path, form, host)

    def log_in(self, email: str, password: str) -> tuple[int, bytes]:
        status, _headers, content = self.post_form(
            "/login/", {"username": email, "password": password}
        )
        return status, content


def set_up_administrator(port: int) -> None:
    status, headers, _ = Browser(port).post_form(
        "/setup/",
        {"name": "Ada", "email": ADMIN, "password": PASSWORD, "password_again": PASSWORD},
    )
    assert status == 302 and headers["Location"] == "/", status


def test_failed_logins_from_another_address_do_not_lock_the_administrator_out(serve):
    served = serve()
    set_up_administrator(served.web_port)
    attacker = Browser(served.web_port, source="127.0.0.2")
    answers = [attacker.log_in(ADMIN, f"guess-{n}") for n in range(8)]
    assert all(status == 200 for status, _ in answers)
    assert LOCKED in answers[-1][1]  # the attacker's own address waits
    assert attacker.log_in(ADMIN, PASSWORD)[0] == 200  # even with the right password

    status, _ = Browser(served.web_port, source="127.0.0.1").log_in(ADMIN, PASSWORD)
    assert status == 302  # the administrator, from their own address, gets in at once
    assert max(served.healthz_latencies(10)) < 5.0


def test_password_reset_takes_as_long_for_an_unknown_address_over_http(serve):
    served = serve(**GENEROUS_LIMITS)
    set_up_administrator(served.web_port)
    browser = Browser(served.web_port)
    browser.request("GET", "/password/forgot/")

    def timed(email: str) -> float:
        began = time.perf_counter()
        status, _, _ = browser.request("POST", "/password/forgot/", {"email": email})
        elapsed = time.perf_counter() - began
        assert status == 302  # the same answer either way
        return elapsed

    for _ in range(3):  # warm up
        timed(ADMIN), timed("nobody@example.com")
    samples: dict[str, list[float]] = {ADMIN: [], "nobody@example.com": []}
    for number in range(50):  # alternating which goes first cancels any drift
        for email in sorted(samples, reverse=bool(number % 2)):
            samples[email].append(timed(email))
    known, unknown = (statistics.median(samples[email]) * 1000 for email in samples)
    print(f"reset over HTTP: median {known:.1f} ms (account), {unknown:.1f} ms (unknown)")
    # Looser than the in-process test: the worker delivers the account's emails meanwhile,
    # in the same process, and the machine is shared.
    assert abs(known - unknown) < 20.0, (known, unknown)
    assert max(served.healthz_latencies(10)) < 5.0


def test_a_forged_host_header_never_reaches_an_emailed_link(serve):
    served = serve(**GENEROUS_LIMITS)
    set_up_administrator(served.web_port)
    visitor = Browser(served.web_port)
    visitor.request("GET", "/password/forgot/")
    forged_port = visitor.request(
        "POST", "/password/forgot/", {"email": ADMIN}, host="127.0.0.1:6666"
    )
    assert forged_port[0] == 302
    forged_name = visitor.request(
        "POST", "/password/forgot/", {"email": ADMIN}, host="evil.example"
    )
    assert forged_name[0] == 400  # not an allowed host: refused, nothing sent

    admin = Browser(served.web_port)
    assert admin.log_in(ADMIN, PASSWORD)[0] == 302
    links = caught_reset_links(admin, expected=1)
    assert links == [link for link in links if link.startswith(served.url + "/password/reset/")]
    assert not any("6666" in link or "evil.example" in link for link in links)
    assert max(served.healthz_latencies(10)) < 5.0


def caught_reset_links(admin: Browser, expected: int, timeout: float = 60.0) -> list[str]:
    """The reset links in the messages the development inbox caught (the worker sends them)."""
    deadline = time.monotonic() + timeout
    while True:
        _, _, page = admin.request("GET", "/inbox/")
        ids = sorted(set(re.findall(rb'href="/inbox/(\d+)/"', page)))
        if len(ids) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    links = []
    for pk in ids:
        _, _, source = admin.request("GET", f"/inbox/{pk.decode()}/source.eml")
        links += re.findall(r"https?://[^\s\"<>]+/password/reset/[^\s\"<>]+", source.decode())
    assert len(ids) >= expected and links, "no reset email was caught in time"
    return links
