"""The web server's limits: descriptors, connections and bodies."""

from __future__ import annotations

import resource

import pytest

from postroom.backoffice import webserver


@pytest.fixture
def low_soft_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
    yield hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_serve_raises_its_descriptor_limit_to_the_hard_limit(low_soft_limit):
    hard = low_soft_limit
    assert webserver.raise_descriptor_limit() == hard
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard


def test_connections_are_capped_below_the_descriptor_limit(low_soft_limit):
    assert webserver.connection_limit() == 1024 - webserver.RESERVED_DESCRIPTORS
    webserver.raise_descriptor_limit()
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    expected = min(webserver.MAX_CONNECTIONS, soft - webserver.RESERVED_DESCRIPTORS)
    assert webserver.connection_limit() == expected


def test_the_body_limit_is_the_largest_form_upload_plus_multipart_overhead():
    from postroom.forms.editing import MAX_REQUEST_MB

    options = webserver.server_options()
    largest = MAX_REQUEST_MB * 1024 * 1024
    # waitress refuses a Content-Length >= max_request_body_size
    assert options["max_request_body_size"] == webserver.MAX_BODY_BYTES + 1
    assert largest < webserver.MAX_BODY_BYTES <= largest + 2 * 1024 * 1024
    assert options["asyncore_use_poll"] is True
    assert options["channel_timeout"] == webserver.CHANNEL_TIMEOUT


# -- per-route body limits and the body rate, against a real server in this process ---------


@pytest.fixture
def body_server(monkeypatch, tmp_path):
    """The production web server around an application that reports the body it read."""
    import threading

    monkeypatch.setenv("POSTROOM_DATA", str(tmp_path))
    calls: list[int] = []

    def application(environ, start_response):
        body = environ["wsgi.input"].read()
        calls.append(len(body))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"read %d" % len(body)]

    monkeypatch.setattr(webserver, "get_wsgi_application", lambda: application)
    server = webserver.create_web_server("127.0.0.1", 0, threads=2)
    port = server.socket.getsockname()[1]
    stop = threading.Event()
    thread = threading.Thread(target=webserver.serve_until, args=(server, stop, 0.1))
    thread.start()
    yield port, calls
    stop.set()
    thread.join(10)


def _answer(sock, timeout: float = 10.0) -> bytes:
    """Everything the server says until it closes or goes quiet for ``timeout``."""

    sock.settimeout(timeout)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
            if b"\r\n\r\n" in received and b"Content-Length: " in received:
                head, _, body = received.partition(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def test_a_2_mb_post_to_login_is_refused_before_its_body_is_sent(body_server):
    import socket

    port, calls = body_server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 2000000\r\n\r\n"
        )
        answer = _answer(sock)  # not one byte of the body was sent
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"at most %d bytes" % webserver.SMALL_BODY_BYTES in answer
    assert calls == []


def test_a_large_post_to_a_public_form_is_read_whole(body_server):
    import socket

    port, calls = body_server
    size = 3 * 1024 * 1024  # over the small limit, under a form's
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /f/contact-us_2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/octet-stream\r\n"
            b"Content-Length: %d\r\n\r\n" % size
        )
        sock.sendall(b"x" * size)
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert answer.endswith(b"read %d" % size)
    assert calls == [size]


def test_a_chunked_body_to_login_is_cut_off_at_the_small_limit(body_server):
    import socket

    port, calls = body_server
    chunk = b"x" * 65536
    framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        try:
            while sent < 4 * webserver.SMALL_BODY_BYTES:  # never the final 0-chunk
                sock.sendall(framed)
                sent += len(chunk)
        except OSError:
            pass  # the server answered and closed while we were still sending
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert calls == []


@pytest.mark.parametrize(
    ("method", "path", "limit"),
    [
        ("POST", "/f/contact/", webserver.MAX_BODY_BYTES),
        ("post", "/f/a-b_1/", webserver.MAX_BODY_BYTES),
        ("POST", "/f/contact/token/", webserver.SMALL_BODY_BYTES),
        ("POST", "/f/contact/thanks/", webserver.SMALL_BODY_BYTES),
        ("PUT", "/f/contact/", webserver.SMALL_BODY_BYTES),
        ("POST", "/forms/3/", webserver.SMALL_BODY_BYTES),
        ("POST", "/login/", webserver.SMALL_BODY_BYTES),
        ("POST", "/outbox/", webserver.SMALL_BODY_BYTES),
    ],
)
def test_only_a_public_form_submission_may_send_a_large_body(method, path, limit):
    assert webserver.body_limit(method, path) == limit


def test_the_small_limit_holds_the_largest_bulk_action_many_times_over():
    from postroom.delivery.views import BULK_IDS_LIMIT

    # ids=<up to 20 digits>& for every ticked row, plus the CSRF token and the action.
    largest_bulk = BULK_IDS_LIMIT * len("ids=99999999999999999999&") + 1024
    assert largest_bulk * 10 < webserver.SMALL_BODY_BYTES


def _parser_with_body_begun(path: bytes, body: bytes):
    from waitress.adjustments import Adjustments

    parser = webserver._TimedParser(Adjustments(**webserver.server_options()))
    data = b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n" + body
    while data:  # as the channel does: the headers first, then the rest
        data = data[parser.received(data) :]
    return parser


def test_a_body_that_trickles_below_the_minimum_rate_is_too_slow():
    parser = _parser_with_body_begun(b"/f/contact/", b"x" * 100)
    began, _ = parser.rate_mark
    assert not parser.too_slow(began + webserver.BODY_RATE_WINDOW - 1)  # the grace period
    assert parser.too_slow(began + webserver.BODY_RATE_WINDOW + 1)


def test_a_body_must_keep_its_rate_in_every_window_not_only_the_first():
    window = webserver.BODY_RATE_WINDOW
    parser = _parser_with_body_begun(b"/f/contact/", b"x" * (webserver.MIN_BODY_RATE * window * 2))
    began, _ = parser.rate_mark
    assert not parser.too_slow(began + window)  # a fast start opens a new window
    parser.received(b"x" * (webserver.MIN_BODY_RATE * window))
    assert not parser.too_slow(began + 2 * window)  # kept the rate
    parser.received(b"x")
    assert parser.too_slow(began + 3 * window)  # then nearly stopped


def test_bodies_past_64_kib_are_spooled_not_kept_in_memory():
    assert webserver.server_options()["inbuf_overflow"] == webserver.INBUF_OVERFLOW <= 64 * 1024
