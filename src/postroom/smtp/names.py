"""Name lookups with a deadline: ``getaddrinfo`` has no timeout, so it runs in a daemon thread
that is abandoned (not waited for) when the deadline passes."""

from __future__ import annotations

import socket
import threading
from typing import Any

AddrInfo = tuple[Any, ...]


class LookupTimeout(TimeoutError):
    pass


def getaddrinfo(host: str, port: int, timeout: float) -> list[AddrInfo]:
    """TCP addresses for ``host``; raises socket.gaierror, or LookupTimeout after ``timeout``."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome["value"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except BaseException as error:  # handed to the caller
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=lookup, name="smtp-getaddrinfo", daemon=True).start()
    if not done.wait(max(timeout, 0.0)):
        raise LookupTimeout(f"looking up {host} took longer than {timeout:.1f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


_local_name: str | None = None
_local_name_lock = threading.Lock()


def local_hostname(timeout: float = 1.0) -> str:
    """What smtplib would say in EHLO (``socket.getfqdn()`` or ``[127.0.0.1]``), found once,
    bounded: getfqdn may do a reverse lookup that hangs without a network."""
    global _local_name
    with _local_name_lock:
        if _local_name is not None:
            return _local_name
    outcome: dict[str, str] = {}
    done = threading.Event()

    def find() -> None:
        try:
            outcome["name"] = socket.getfqdn()
        finally:
            done.set()

    threading.Thread(target=find, name="smtp-getfqdn", daemon=True).start()
    name = outcome.get("name", "") if done.wait(timeout) else ""
    found = name if "." in name else "[127.0.0.1]"
    with _local_name_lock:
        if done.is_set():  # remember only a finished answer
            _local_name = found
    return found
