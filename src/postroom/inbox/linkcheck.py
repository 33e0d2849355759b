"""Check the web links of a caught message: a bounded HEAD (GET when HEAD is refused) each.

Limits: 3 s for each link (its redirects included), 10 at a time, at most 100 per message,
at most 3 redirects followed. Nothing of a response body is read.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

TIMEOUT_SECONDS = 3.0
CONCURRENCY = 10
MAX_LINKS = 100
MAX_REDIRECTS = 3
USER_AGENT = "Postroom link check"
# Servers that refuse HEAD say so with these; the check then asks with GET.
HEAD_REFUSED = {405, 501}
REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class LinkStatus:
    url: str
    status: int | None  # the last HTTP status, or None when there was no answer
    detail: str  # "OK", "Not Found", "redirected to …", or why there was no answer
    ok: bool


def check_links(urls: Iterable[str]) -> list[LinkStatus]:
    """The status of each of the first ``MAX_LINKS`` distinct ``urls``, in their order."""
    unique = list(dict.fromkeys(urls))[:MAX_LINKS]
    if not unique:
        return []
    with ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="linkcheck") as pool:
        return list(pool.map(check_link, unique))


def check_link(url: str, timeout: float = TIMEOUT_SECONDS) -> LinkStatus:
    deadline = time.monotonic() + timeout
    current = url
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            status, reason, location = _ask(current, deadline)
            if status in REDIRECTS and location:
                current = urljoin(current, location)
                continue
            detail = reason or http.client.responses.get(status, "")
            if current != url:
                detail = f"{detail} (after redirects, at {current})"
            return LinkStatus(url, status, detail, 200 <= status < 400)
        return LinkStatus(url, status, f"more than {MAX_REDIRECTS} redirects", False)
    except TimeoutError:
        return LinkStatus(url, None, f"no answer within {timeout:g} s", False)
    except ssl.SSLError as error:
        return LinkStatus(url, None, f"TLS failed: {error.reason or error}", False)
    except (OSError, http.client.HTTPException, ValueError) as error:
        return LinkStatus(url, None, _describe(error), False)


def _ask(url: str, deadline: float) -> tuple[int, str, str]:
    """One request: HEAD, then GET if the server refuses HEAD. (status, reason, Location)."""
    status, reason, location = _request("HEAD", url, deadline)
    if status in HEAD_REFUSED:
        status, reason, location = _request("GET", url, deadline)
    return status, reason, location


def _request(method: str, url: str, deadline: float) -> tuple[int, str, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not a web address")
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=remaining)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request(method, path, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
        response = connection.getresponse()  # headers only: the body is never read
        return response.status, response.reason, response.getheader("Location", "")
    finally:
        connection.close()


def _describe(error: Exception) -> str:
    if isinstance(error, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ValueError):
        return f"not a valid web address ({error})"
    return str(error) or type(error).__name__
