"""The relay as a running service: its listeners (STARTTLS port, implicit-TLS port), its TLS
certificate and its one writer. Used by `postroom relay` and by `serve`."""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from types import TracebackType

from postroom import runtime
from postroom.config import current_config
from postroom.core import selfsigned, smtpserver
from postroom.relay.lookups import Lookups
from postroom.relay.server import (
    HOSTNAME,
    NAME,
    ImplicitTlsRelaySMTP,
    RelayHandler,
    RelaySMTP,
    server_tls_context,
)
from postroom.relay.server import (
    limits as relay_limits,
)
from postroom.relay.store import Committer

TLS_ORGANISATION = "Postroom relay (Development)"


class RelayError(Exception):
    """The relay cannot start; the message says why and what to change."""


def default_tls_dir() -> Path:
    return runtime.data_dir() / "relay-tls"


def default_spool_dir() -> Path:
    return runtime.data_dir() / "relay-spool"


def tls_context(tls_dir: Path | None = None) -> ssl.SSLContext | None:
    """The configured certificate; in Development, one generated into the data directory;
    else none (the relay then offers no TLS, and a configuration warning says so)."""
    hosting = current_config().hosting
    cert, key = hosting.relay_cert.value, hosting.relay_key.value
    try:
        if cert and key:
            return server_tls_context(Path(cert), Path(key))
        if runtime.is_development():
            return selfsigned.server_context(tls_dir or default_tls_dir(), TLS_ORGANISATION)
    except (OSError, ssl.SSLError) as error:
        raise RelayError(
            f"The relay cannot load its TLS certificate ({cert or tls_dir}): {error}. Check "
            "POSTROOM_RELAY_CERT and POSTROOM_RELAY_KEY (PEM files that belong together)."
        ) from error
    return None


class RelayServer:
    """The relay on ``host:port`` and, given, ``tls_port`` (0 picks a free port)."""

    def __init__(
        self,
        host: str,
        port: int | None,
        *,
        tls_port: int | None = None,
        tls_dir: Path | None = None,
        spool_dir: Path | None = None,
        limits: smtpserver.Limits | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.tls_port = tls_port
        self.tls_dir = tls_dir
        self.spool_dir = spool_dir or default_spool_dir()
        self.limits = limits or relay_limits()
        self._controllers: list[smtpserver.LimitedController] = []
        self._committer: Committer | None = None
        self._lookups: Lookups | None = None
        self.offers_tls = False

    @property
    def alive(self) -> bool:
        return bool(self._controllers) and all(c.alive for c in self._controllers)

    @property
    def open_connections(self) -> int:
        return sum(c.open_connections for c in self._controllers)

    def describe(self) -> str:
        where = []
        if self.port is not None:
            tls = "STARTTLS" if self.offers_tls else "no TLS: no certificate"
            where.append(f"smtp://{self.host}:{self.port} ({tls})")
        if self.tls_port is not None:
            where.append(f"smtps://{self.host}:{self.tls_port}")
        return ", ".join(where)

    def start(self) -> None:
        """Listen and serve in background threads. Raises :class:`RelayError`."""
        if self._controllers:
            return
        context = tls_context(self.tls_dir)
        self.offers_tls = context is not None
        if self.tls_port is not None and context is None:
            raise RelayError(
                "The relay cannot offer implicit TLS (POSTROOM_RELAY_TLS_PORT) without a "
                "certificate: set POSTROOM_RELAY_CERT and POSTROOM_RELAY_KEY."
            )
        try:
            self.spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.spool_dir, 0o700)  # messages in transit: only this user reads them
        except OSError as error:
            raise RelayError(
                f"The relay cannot keep messages in transit in {self.spool_dir}: "
                f"{error.strerror or error}. Check that POSTROOM_DATA is writable."
            ) from error
        self._committer = Committer()
        self._lookups = Lookups()
        try:
            if self.port is not None:
                self.port = self._listen(self.port, RelaySMTP, tls_context=context)
            if self.tls_port is not None:
                self.tls_port = self._listen(
                    self.tls_port, ImplicitTlsRelaySMTP, ssl_context=context, auth_require_tls=False
                )
        except BaseException:
            self.stop()
            raise

    def _listen(self, port: int, protocol: type[RelaySMTP], **tls: object) -> int:
        def invalid(reason: str) -> RelayError:
            return RelayError(
                f"The relay cannot listen on {self.host}:{port}: {reason}. Choose another "
                "address with POSTROOM_RELAY_HOST, POSTROOM_RELAY_PORT and "
                "POSTROOM_RELAY_TLS_PORT (or --host, --port and --tls-port)."
            )

        def in_use() -> RelayError:
            return RelayError(
                f"The relay cannot listen on {self.host}:{port}: port {port} is already in use. "
                "Stop the other program (another Postroom or mail server), or choose another "
                "port with POSTROOM_RELAY_PORT or POSTROOM_RELAY_TLS_PORT."
            )

        sock = smtpserver.bind(self.host, port, invalid=invalid, in_use=in_use)
        assert self._committer is not None and self._lookups is not None
        controller = smtpserver.LimitedController(
            RelayHandler(self._committer, self.limits, self._lookups),
            sock,
            protocol=protocol,
            name=NAME,
            limits=self.limits,
            spool_dir=self.spool_dir,
            ready_timeout=smtpserver.START_TIMEOUT,
            server_hostname=HOSTNAME,
            ident="Postroom relay",
            **tls,  # type: ignore[arg-type]
        )
        controller.start_serving()
        self._controllers.append(controller)
        return sock.getsockname()[1]

    def stop(self) -> None:
        """Stop listening; messages already handed to the writer are committed first."""
        controllers, self._controllers = self._controllers, []
        for controller in controllers:
            controller.stop()
        committer, self._committer = self._committer, None
        if committer is not None:
            committer.close()
        lookups, self._lookups = self._lookups, None
        if lookups is not None:
            lookups.close()

    def __enter__(self) -> RelayServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_relay(host: str, port: int | None, tls_port: int | None = None) -> RelayServer:
    """Start the relay, for `serve` and `postroom relay`. Raises :class:`RelayError`."""
    server = RelayServer(host, port, tls_port=tls_port)
    server.start()
    return server
