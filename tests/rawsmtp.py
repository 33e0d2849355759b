"""A byte-level SMTP client, for what smtplib will not send: bare LF, bombs, stalls, floods."""

from __future__ import annotations

import socket


class RawClient:
    def __init__(self, port: int, timeout: float = 10.0, source: str | None = None) -> None:
        """``source``: another loopback address to come from (127.0.0.2, ...), for limits that
        count connections per client address."""
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=timeout, source_address=(source, 0) if source else None
        )
        self.buffer = b""

    def reply(self) -> bytes:
        """One whole reply (all its lines), or what came before the server closed (b"")."""
        lines = []
        while True:
            while b"\n" not in self.buffer:
                data = self.sock.recv(65536)
                if not data:
                    return b"".join(lines)
                self.buffer += data
            line, self.buffer = self.buffer.split(b"\n", 1)
            lines.append(line + b"\n")
            if line[3:4] != b"-":
                return b"".join(lines)

    def command(self, line: bytes) -> bytes:
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def envelope(self, recipients: int = 1) -> None:
        """Greeting, EHLO, MAIL FROM and ``recipients`` RCPT TO, each answered 2xx."""
        assert self.reply().startswith(b"220")
        assert self.command(b"EHLO client.example").startswith(b"250")
        assert self.command(b"MAIL FROM:<app@example.com>").startswith(b"250")
        for n in range(recipients):
            assert self.command(b"RCPT TO:<user%d@example.com>" % n).startswith(b"250")

    def data(self, stuffed: bytes) -> bytes:
        """DATA, the bytes exactly as given (dot-stuffed and ended by the caller), the reply."""
        assert self.command(b"DATA").startswith(b"354")
        self.sock.sendall(stuffed)
        return self.reply()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
