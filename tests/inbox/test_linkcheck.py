"""Checking a message's links: bounded HEAD (GET when refused), against servers on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from postroom.inbox import linkcheck


class _Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def log_message(self, *args: object) -> None:  # quiet test output
        pass

    def _answer(self) -> None:
        self.seen.append((self.command, self.path))
        if self.path == "/ok":
            self.send_response(200)
        elif self.path == "/head-refused":
            self.send_response(405 if self.command == "HEAD" else 200)
        elif self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/ok")
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
        elif self.path.startswith("/slow"):
            time.sleep(0.6)
            self.send_response(200)
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET = _answer


@pytest.fixture
def web() -> Iterator[str]:
    _Handler.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_each_link_gets_its_status(web: str) -> None:
    results = linkcheck.check_links([f"{web}/ok", f"{web}/missing", f"{web}/ok"])
    assert [(r.url, r.status, r.ok) for r in results] == [
        (f"{web}/ok", 200, True),
        (f"{web}/missing", 404, False),
    ]
    assert ("HEAD", "/ok") in _Handler.seen and ("GET", "/ok") not in _Handler.seen


def test_a_server_refusing_head_is_asked_with_get(web: str) -> None:
    (result,) = linkcheck.check_links([f"{web}/head-refused"])
    assert result.status == 200 and result.ok
    assert _Handler.seen == [("HEAD", "/head-refused"), ("GET", "/head-refused")]


def test_redirects_are_followed_a_few_times_only(web: str) -> None:
    moved, loop = linkcheck.check_links([f"{web}/moved", f"{web}/loop"])
    assert moved.status == 200 and moved.ok and "after redirects" in moved.detail
    assert not loop.ok and "more than 3 redirects" in loop.detail
    assert _Handler.seen.count(("HEAD", "/loop")) == linkcheck.MAX_REDIRECTS + 1


def test_no_answer_and_refused_connections_are_explained(
    web: str, refused_port: int, silent_listener
) -> None:
    refused = linkcheck.check_link(f"http://127.0.0.1:{refused_port}/")
    assert refused.status is None and refused.detail == "connection refused"
    start = time.monotonic()
    silent = linkcheck.check_link(f"http://127.0.0.1:{silent_listener.port}/", timeout=0.5)
    assert silent.status is None and "no answer within 0.5 s" in silent.detail
    assert time.monotonic() - start < 2


def test_links_are_checked_ten_at_a_time_and_at_most_a_hundred(
    web: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(linkcheck, "MAX_LINKS", 12)
    urls = [f"{web}/slow?{n}" for n in range(15)]
    start = time.monotonic()
    results = linkcheck.check_links(urls)
    took = time.monotonic() - start
    assert len(results) == 12 and all(r.ok for r in results)
    assert len(_Handler.seen) == 12
    # 12 links of 0.6 s each, 10 at a time: two rounds, not one, not twelve.
    assert 1.15 < took < 3


def test_the_limits_are_those_promised() -> None:
    assert (linkcheck.TIMEOUT_SECONDS, linkcheck.CONCURRENCY, linkcheck.MAX_LINKS) == (3, 10, 100)
