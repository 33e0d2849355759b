"""The production WSGI server (waitress) that serves the backoffice and its static files.

Every resource has a named limit, as Postfix does it (the figures behind the choices are in
bench/webserver.py):

- connections: an epoll loop (:mod:`postroom.backoffice.webloop`; ``poll()`` elsewhere) instead
  of ``select()``, which fails past descriptor 1024; at most :func:`connection_limit` at once,
  below the process's descriptor limit, which is raised to the hard limit first;
- time: a connection that says nothing for ``CHANNEL_TIMEOUT`` seconds is closed, and so is one
  that has not finished its request headers ``HEADER_TIMEOUT`` seconds after it began them
  (slowloris);
- size: request headers up to ``MAX_HEADER_BYTES``; a body larger than its route accepts
  (:func:`body_limit`: :data:`MAX_BODY_BYTES` for a public form's submission, which may carry
  uploads, :data:`SMALL_BODY_BYTES` for everything else) is answered 413 from its
  Content-Length before it is read, and a chunked body is cut off at the same size;
- rate: once the headers are in, the body must keep coming at ``MIN_BODY_RATE`` bytes a second
  on average over every ``BODY_RATE_WINDOW`` seconds, or the connection is closed;
- memory and disk: a body over ``INBUF_OVERFLOW`` bytes is spooled in the data directory (see
  :func:`keep_spool_private`), never kept in memory or in /tmp.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.core.wsgi import get_wsgi_application
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer
from waitress.utilities import RequestEntityTooLarge

from postroom import runtime
from postroom.api.validation import MAX_BODY_BYTES as API_MAX_BODY_BYTES
from postroom.backoffice import webloop
from postroom.config import current_config
from postroom.forms.editing import MAX_REQUEST_MB

try:
    import resource
except ImportError:  # Windows: no descriptor limits to raise
    resource = None  # type: ignore[assignment]

log = logging.getLogger("postroom.web")

# The largest body a route accepts is a form's upload ceiling; multipart adds boundaries and
# part headers around each field, a few hundred bytes per field: one MiB covers any real form.
MULTIPART_OVERHEAD_BYTES = 1024 * 1024
MAX_BODY_BYTES = MAX_REQUEST_MB * 1024 * 1024 + MULTIPART_OVERHEAD_BYTES
# Every other route takes a few fields: the largest real one is a bulk action on the outbox
# (at most 500 ids, about 10 KB) or a workflow's message text that a person typed.
SMALL_BODY_BYTES = 1024 * 1024
# Only a public form's submission may carry uploads (the form builder takes none).
_UPLOAD_ROUTE = re.compile(r"/f/[-a-zA-Z0-9_]+/")
# The HTTP API's send route takes a message with its attachments, base64-encoded.
_API_SEND_ROUTE = "/api/v1/messages"
MAX_HEADER_BYTES = 64 * 1024
# Bodies past this wait in the private spool, not in memory (waitress's default is 512 KiB,
# which 400 trickling connections turned into 250 MB of memory).
INBUF_OVERFLOW = 64 * 1024
MIN_BODY_RATE = 500  # bytes a second, as the catcher's MIN_DATA_RATE and Postfix's
BODY_RATE_WINDOW = 20  # seconds over which that rate is averaged; the first is a grace period
CHANNEL_TIMEOUT = 15  # seconds of silence before a connection is closed
HEADER_TIMEOUT = 20  # seconds from a request's first byte to the end of its headers
CLEANUP_INTERVAL = 2  # how often the two timeouts above are checked
ACCEPT_BATCH = 128  # new connections taken per turn of the server's loop
THREADS = 8
# Descriptors kept free of web connections: the database, the catcher, the worker's SMTP
# connections, log files and the listening sockets themselves.
RESERVED_DESCRIPTORS = 256
MAX_CONNECTIONS = 10_000
WINDOWS_CONNECTIONS = 500  # waitress uses select() there, which handles 512 sockets


def raise_descriptor_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit; returns the new soft limit.

    Linux starts processes with a soft limit of 1024, far below what thousands of idle
    visitors (or an attacker) need; the hard limit is what the administrator allows.
    """
    if resource is None:
        return WINDOWS_CONNECTIONS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as error:
            log.warning("Could not raise the open file limit from %s: %s", soft, error)
    return soft


def connection_limit() -> int:
    """How many web connections at once: below the descriptor limit, with room for the rest."""
    if resource is None:
        return WINDOWS_CONNECTIONS
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(50, min(MAX_CONNECTIONS, soft - RESERVED_DESCRIPTORS))


def keep_spool_private() -> Path:
    """Spool large request bodies and uploads into the private data directory, not /tmp.

    Waitress keeps a body over ``INBUF_OVERFLOW`` in a temporary file, and Django does so with
    an upload over 2.5 MiB: in /tmp (often a RAM disk shared by every program) others could
    fill it or see the files. The files are unlinked at creation, so nothing stays behind.
    """
    spool = runtime.data_dir() / "spool"
    spool.mkdir(mode=runtime.PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    tempfile.tempdir = str(spool)
    return spool


def proxy_options() -> dict[str, object]:
    """Behind a reverse proxy, ``POSTROOM_TRUSTED_PROXY`` (its address) lets waitress take the
    visitor's address and scheme from X-Forwarded-For/-Proto, for rate limits and links."""
    proxy = current_config().hosting.trusted_proxy.value  # an IP address, validated
    if not proxy:
        return {}
    return {
        "trusted_proxy": proxy,
        "trusted_proxy_count": 1,
        "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"},
    }


def server_options(threads: int = THREADS) -> dict[str, Any]:
    """Waitress's adjustments, each chosen deliberately (see the module docstring)."""
    return {
        "threads": threads,
        "ident": "Postroom",
        "asyncore_use_poll": True,
        "connection_limit": connection_limit(),
        "channel_timeout": CHANNEL_TIMEOUT,
        "cleanup_interval": CLEANUP_INTERVAL,
        "max_request_header_size": MAX_HEADER_BYTES,
        # waitress answers 413 when Content-Length >= this, and stops a chunked body there;
        # each request narrows it to its route's body_limit() once its headers are in.
        "max_request_body_size": MAX_BODY_BYTES + 1,
        "inbuf_overflow": INBUF_OVERFLOW,
        # Responses keep waitress's defaults: 1 MiB in memory, then spooled; a request thread
        # waits while more than 16 MiB are queued for a slow reader.
        "backlog": 1024,
        "clear_untrusted_proxy_headers": True,
        **proxy_options(),
    }


def body_limit(method: str, path: str) -> int:
    """The largest body (bytes) a request may send, decided from its request line alone."""
    if method.upper() == "POST" and _UPLOAD_ROUTE.fullmatch(path):
        return MAX_BODY_BYTES
    if method.upper() == "POST" and path == _API_SEND_ROUTE:
        return API_MAX_BODY_BYTES
    return SMALL_BODY_BYTES


class _Limits:
    """The server's adjustments with one request's own body limit."""

    def __init__(self, adj: Any, max_body: int) -> None:
        self._adj = adj
        self.max_request_body_size = max_body + 1  # waitress refuses at >= this

    def __getattr__(self, name: str) -> Any:
        return getattr(self._adj, name)


class _TimedParser(HTTPRequestParser):
    """A request parser that knows when its request's first byte arrived, applies its route's
    body limit before the body is read, and remembers how fast the body comes."""

    def __init__(self, adj: Any) -> None:
        super().__init__(adj)
        self.started = time.monotonic()
        self.body_limit = MAX_BODY_BYTES
        self.rate_mark: tuple[float, int] | None = None  # (when, body bytes by then)

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        self.body_limit = body_limit(self.command, self.path)
        self.adj = _Limits(self.adj, self.body_limit)

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if self.headers_finished and self.rate_mark is None:
            self.rate_mark = (time.monotonic(), self.body_bytes_received)
        if isinstance(self.error, RequestEntityTooLarge) and "Postroom" not in self.error.body:
            self.error = RequestEntityTooLarge(
                f"This address accepts a request body of at most {self.body_limit} bytes "
                "(Postroom). Send less, or only public form submissions carry uploads."
            )
        return consumed

    def too_slow(self, now: float) -> bool:
        """True when the body, once begun, came slower than ``MIN_BODY_RATE`` over the last
        ``BODY_RATE_WINDOW`` seconds; every window that is fast enough starts a new one."""
        if self.completed or self.rate_mark is None:
            return False
        since, received = self.rate_mark
        elapsed = now - since
        if elapsed < BODY_RATE_WINDOW:
            return False
        if self.body_bytes_received - received < MIN_BODY_RATE * elapsed:
            return True
        self.rate_mark = (now, self.body_bytes_received)
        return False


class _Channel(HTTPChannel):
    parser_class = _TimedParser


def _close_slow_headers(server: BaseWSGIServer, original_maintenance: Any) -> Any:
    """Waitress closes silent connections; this also closes those that talk too slowly:
    headers not finished within ``HEADER_TIMEOUT``, or a body below ``MIN_BODY_RATE``."""

    def maintenance(now: float) -> None:
        original_maintenance(now)
        monotonic = time.monotonic()
        cutoff = monotonic - HEADER_TIMEOUT
        for channel in list(server.active_channels.values()):
            request = getattr(channel, "request", None)
            if not isinstance(request, _TimedParser):
                continue
            if not request.headers_finished:
                if request.started < cutoff:
                    channel.will_close = True
            elif request.too_slow(monotonic):
                channel.will_close = True

    return maintenance


def _with_environ(application: Any, extra: dict[str, object]) -> Any:
    """The WSGI application, with facts from the command line in every request's environ."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        environ.update(extra)
        return application(environ, start_response)

    return wrapped


def _accept_in_batches(listener: BaseWSGIServer, original_accept: Any) -> Any:
    """Waitress accepts one connection per turn of its loop, and a turn costs time in
    proportion to the open connections: with thousands open, visitors would wait behind
    every new attacker connection in the kernel's queue. Take up to ``ACCEPT_BATCH`` a turn."""

    def handle_accept() -> None:
        for _ in range(ACCEPT_BATCH):
            before = len(listener._map)
            if before >= listener.adj.connection_limit:
                return
            original_accept()
            if len(listener._map) == before:  # nothing waiting (or it failed): done
                return

    return handle_accept


def create_web_server(  # noqa: ANN201 (a waitress server)
    host: str, port: int, threads: int = THREADS, environ: dict[str, object] | None = None
):
    """Listen on ``host:port`` (raises CommandError with the fix); ``environ`` is added to
    every request's WSGI environ (``postroom.inbox_port`` from `serve --inbox-port`)."""
    import waitress.server

    raise_descriptor_limit()
    keep_spool_private()
    application = get_wsgi_application()
    if environ:
        application = _with_environ(application, environ)
    try:
        server = waitress.server.create_server(
            application, host=host, port=port, **server_options(threads)
        )
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise CommandError(
                f"Port {port} on {host} is already in use: is Postroom already running? "
                "Choose another port with --port or POSTROOM_PORT."
            ) from None
        raise CommandError(f"Cannot listen on {host}:{port}: {error.strerror}.") from None
    # One listener, or several (a name with IPv4 and IPv6 addresses) sharing one map.
    for listener in _listeners(server):
        listener.channel_class = _Channel
        listener.maintenance = _close_slow_headers(listener, listener.maintenance)
        listener.handle_accept = _accept_in_batches(listener, listener.handle_accept)
    return server


def _socket_map(server: Any) -> dict[int, Any]:
    return getattr(server, "map", None) or server._map


def _listeners(server: Any) -> list[BaseWSGIServer]:
    return [item for item in _socket_map(server).values() if isinstance(item, BaseWSGIServer)]


class WebServerStopped(RuntimeError):
    """The web server's listening socket closed although nobody asked it to stop."""


def serve_until(server: Any, stop: threading.Event, tick: float = 0.5) -> None:
    """Serve until ``stop`` is set (checked every ``tick`` seconds), then close everything.

    `serve` runs this in a thread of its own (waitress's own ``run()`` only ends on Ctrl-C),
    on :class:`~postroom.backoffice.webloop.EpollLoop` where the system has epoll.
    """
    socket_map = _socket_map(server)
    listeners = _listeners(server)
    loop = webloop.EpollLoop(socket_map, listeners) if webloop.available() else None
    for listener in listeners:
        listener.trigger._postroom_trigger = True
    try:
        while not stop.is_set():
            if not any(listener.socket for listener in listeners):
                raise WebServerStopped("the listening socket closed")
            if loop is not None:
                loop.turn(tick)
            else:
                wasyncore.loop(timeout=tick, map=socket_map, use_poll=True, count=1)
    finally:
        if loop is not None:
            loop.close()
        close_web_server(server)


def close_web_server(server: Any) -> None:
    """Stop listening, close every connection and stop the request threads (5 s at most)."""
    socket_map = _socket_map(server)
    with contextlib.suppress(OSError):
        server.close()
    wasyncore.close_all(socket_map, ignore_all=True)
    server.task_dispatcher.shutdown(timeout=5)
