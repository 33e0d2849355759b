"""A one-connection SMTP server that follows a script, for what aiosmtpd cannot be made to do:
hold its replies until the client has sent more. Subclasses write ``_converse``."""

from __future__ import annotations

import socket
import threading


class ScriptedServer:
    """Greets, answers EHLO with PIPELINING, then runs ``_converse`` on the one connection.
    Records every chunk as it arrived."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.chunks: list[bytes] = []
        self._buffer = b""
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        connection.settimeout(5)
        with connection:
            connection.sendall(b"220 strict.test ESMTP\r\n")
            self._read_until(connection, b"\r\n")
            connection.sendall(b"250-strict.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            self._converse(connection)

    def _converse(self, connection: socket.socket) -> None:
        raise NotImplementedError

    def _read_until(self, connection: socket.socket, end: bytes) -> bool:
        """Read until ``end`` has come (what came after it is kept for the next read); False
        if the client hung up or went quiet first."""
        while end not in self._buffer:
            try:
                chunk = connection.recv(65536)
            except OSError:
                return False
            if not chunk:
                return False
            self.chunks.append(chunk)
            self._buffer += chunk
        self._buffer = self._buffer.split(end, 1)[1]
        return True

    def close(self) -> None:
        self._listener.close()
        self._thread.join(5)
