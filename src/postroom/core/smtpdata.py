"""The bytes a client sends after DATA, read the way tolerant mail servers read them.

Pure: :class:`DataDecoder` is fed what arrives and hands back the message, with no I/O.

- A line ends at LF, with or without a CR before it: scripts and some libraries send bare LF.
- A line holding only "." ends the data, however it and the line before it end (CRLF or LF),
  as Postfix has always done with ``smtpd_forbid_bare_newline = no``. Postfix 3.9 defaults to
  demanding CRLF.CRLF to stop SMTP smuggling, which matters to a server that passes the bytes on
  as they came. The catcher passes nothing on; the relay stores the message and the worker sends
  it through smtplib, which writes every line ending as CRLF and dot-stuffs every line again, so
  no "." line inside a stored message can end the data early at the next server. A client that
  ends with LF.LF would otherwise hang until it times out.
- A leading dot is removed from every other line (RFC 5321 section 4.5.2), however it ends.
- Nothing else is changed: line endings are kept as the client sent them.

Limits are checked as the bytes arrive. Past a limit, the rest of the data is still read up
to its end, in linear time and without keeping it, so that the client hears the reason.
"""

from __future__ import annotations

import enum
import re

# A header field ("Name:") or the continuation of one (leading space or tab). Any other line,
# a blank one included, starts the body (as Postfix and Python's email parser decide).
_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:|[ \t]")
# Enough of a held line to tell "." and ".\r" (an end of data) from longer lines.
_END_PREFIX = 3


class Problem(enum.Enum):
    """Why a message is refused, with the reply the client gets once its data has ended."""

    TOO_BIG = "552 5.3.4 Message too big: the limit is {size} bytes"
    HEADER_TOO_BIG = (
        "552 5.3.4 Message header too big: the limit is {header} bytes before the first blank line"
    )
    LINE_TOO_LONG = "500 5.5.2 Line too long: the limit is {line} bytes per line"

    def reply(self, *, size: int, header: int, line: int) -> str:
        return self.value.format(size=size, header=header, line=line)


class DataDecoder:
    """Feed it what arrives after ``354``; it returns the message's bytes and finds the end.

    Memory stays bounded by ``line_limit``: only the unfinished last line is held. Once
    :attr:`problem` is set, the bytes returned before it must be thrown away.
    """

    def __init__(self, *, size_limit: int, header_limit: int, line_limit: int) -> None:
        self.size_limit = size_limit
        self.header_limit = header_limit
        self.line_limit = line_limit
        self.size = 0  # bytes of the message so far, after removing dot-stuffing
        self.problem: Problem | None = None
        self._held = bytearray()  # the unfinished line: it starts a line and has no LF
        self._header_size = 0
        self._in_header = True

    def reply(self) -> str:
        assert self.problem is not None
        return self.problem.reply(
            size=self.size_limit, header=self.header_limit, line=self.line_limit
        )

    def feed(self, chunk: bytes) -> tuple[bytes, bytes | None]:
        """The message bytes ``chunk`` completes, and what follows the end of data.

        The second item is None until the end of data is seen; then it is the rest of the
        chunk (pipelined commands), which belongs to the SMTP session again.
        After a problem, the message bytes are always empty.
        """
        last_lf = chunk.rfind(b"\n")
        if last_lf < 0:
            self._hold(chunk)
            return b"", None
        held = len(self._held)
        block = bytes(self._held) + chunk[: last_lf + 1] if held else chunk[: last_lf + 1]
        self._held.clear()
        end = _find_end(block)
        if end is not None:
            start, stop = end
            return self._take(block[:start]), chunk[stop - held :]
        message = self._take(block)
        self._hold(chunk[last_lf + 1 :])
        return message, None

    def _hold(self, data: bytes) -> None:
        self._held += data
        if len(self._held) > self.line_limit + 1:  # + 1: a CR that may start the line ending
            self._fail(Problem.LINE_TOO_LONG)
        if self.problem is not None and len(self._held) > _END_PREFIX:
            del self._held[_END_PREFIX:]

    def _fail(self, problem: Problem) -> None:
        if self.problem is None:
            self.problem = problem

    def _take(self, lines: bytes) -> bytes:
        """Whole lines (starting a line, ending with LF) in; the message's bytes out."""
        if not lines or self.problem is not None:
            return b""
        if len(lines) > self.line_limit and self._has_long_line(lines):
            self._fail(Problem.LINE_TOO_LONG)
            return b""
        if self._in_header:
            self._count_header(lines)
            if self.problem is not None:
                return b""
        message = lines[1:] if lines.startswith(b".") else lines
        message = message.replace(b"\n.", b"\n")
        self.size += len(message)
        if self.size > self.size_limit:
            self._fail(Problem.TOO_BIG)
            return b""
        return message

    def _has_long_line(self, lines: bytes) -> bool:
        # The limit excludes the line ending, CRLF or LF.
        return any(
            len(line) - line.endswith(b"\r") > self.line_limit for line in lines.split(b"\n")
        )

    def _count_header(self, lines: bytes) -> None:
        # A line at a time, but never more than header_limit bytes' worth per message.
        position = 0
        while position < len(lines):
            if self._header_size + position > self.header_limit:
                self._fail(Problem.HEADER_TOO_BIG)
                return
            if not _HEADER_LINE.match(lines, position):
                self._in_header = False
                break
            position = lines.index(b"\n", position) + 1
        self._header_size += position
        if self._header_size > self.header_limit:
            self._fail(Problem.HEADER_TOO_BIG)


def _find_end(block: bytes) -> tuple[int, int] | None:
    """Where the "." line starts and ends in ``block`` (whole lines), or None."""
    if block.startswith((b".\n", b".\r\n")):
        start = 0
    else:
        found = [at for at in (block.find(b"\n.\n"), block.find(b"\n.\r\n")) if at >= 0]
        if not found:
            return None
        start = min(found) + 1
    return start, block.index(b"\n", start) + 1
