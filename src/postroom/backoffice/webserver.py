"""The production WSGI server (waitress) that serves the backoffice and its static files.

Every resource has a named limit, as Postfix does it (the figures behind the choices are in
bench/webserver.py):

- connections: an epoll loop (:mod:`postroom.backoffice.webloop`; ``poll()`` elsewhere) instead
  of ``select()``, which fails past descriptor 1024; at most :func:`connection_limit` at once,
  below the process's descriptor limit, which is raised to the hard limit first;
- time: a connection that says nothing for ``CHANNEL_TIMEOUT`` seconds is closed, and so is one
  that has not finished its request headers ``HEADER_TIMEOUT`` seconds after it began them
  (slowloris);
- size: request headers up to ``MAX_HEADER_BYTES``; a body larger than any route accepts
  (:data:`MAX_BODY_BYTES`) is answered 413 from its Content-Length before it is read, and a
  chunked body is cut off at the same size;
- disk: bodies too large for memory are spooled in the data directory (see
  :func:`keep_spool_private`), never in /tmp.
"""

from __future__ import annotations

import contextlib
import errno
import logging
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

from postroom import runtime
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
MAX_HEADER_BYTES = 64 * 1024
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

    Waitress keeps a body over 512 KiB in a temporary file, and Django does so with an upload
    over 2.5 MiB: in /tmp (often a RAM disk shared by every program) others could fill it or
    see the files. The files are unlinked at creation, so nothing stays behind.
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
        # waitress answers 413 when Content-Length >= this, and stops a chunked body there.
        "max_request_body_size": MAX_BODY_BYTES + 1,
        "backlog": 1024,
        "clear_untrusted_proxy_headers": True,
        **proxy_options(),
    }


class _TimedParser(HTTPRequestParser):
    """A request parser that knows when its request's first byte arrived."""

    def __init__(self, adj: Any) -> None:
        super().__init__(adj)
        self.started = time.monotonic()


class _Channel(HTTPChannel):
    parser_class = _TimedParser


def _close_slow_headers(server: BaseWSGIServer, original_maintenance: Any) -> Any:
    """Waitress closes silent connections; this also closes those that talk too slowly."""

    def maintenance(now: float) -> None:
        original_maintenance(now)
        cutoff = time.monotonic() - HEADER_TIMEOUT
        for channel in list(server.active_channels.values()):
            request = getattr(channel, "request", None)
            if (
                request is not None
                and not request.headers_finished
                and getattr(request, "started", cutoff) < cutoff
            ):
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
