"""Reading DATA as tolerant servers do: bare LF, dot-stuffing, the end of data, limits."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postroom.core.smtpdata import DataDecoder, Problem


def _decoder(**limits: int) -> DataDecoder:
    values = {"size_limit": 10**9, "header_limit": 100 * 1024, "line_limit": 1024 * 1024}
    values.update(limits)
    return DataDecoder(**values)


def decode(data: bytes, *, chunk: int | None = None, **limits: int) -> tuple[bytes, bytes, object]:
    """The message (b"" if refused), what followed the end of data, and the problem.

    ``data`` is fed ``chunk`` bytes at a time.
    """
    decoder = _decoder(**limits)
    step = chunk or max(len(data), 1)
    message = []
    for start in range(0, len(data), step):
        part, rest = decoder.feed(data[start : start + step])
        message.append(part)
        if rest is not None:
            after = rest + data[start + step :]
            if decoder.problem is not None:
                return b"", after, decoder.problem  # what came before is thrown away
            return b"".join(message), after, decoder.problem
    raise AssertionError("no end of data found")


@pytest.mark.parametrize("chunk", [None, 1, 2, 3, 7])
def test_crlf_message_is_kept_byte_for_byte(chunk) -> None:
    raw = b"Subject: Hi\r\n\r\nHello\r\nWorld\r\n"
    assert decode(raw + b".\r\n", chunk=chunk) == (raw, b"", None)


@pytest.mark.parametrize("chunk", [None, 1, 2, 5])
def test_bare_lf_lines_are_kept_as_sent(chunk) -> None:
    raw = b"Subject: Hi\n\nHello\nmixed\r\nend\n"
    assert decode(raw + b".\n", chunk=chunk) == (raw, b"", None)


@pytest.mark.parametrize(
    "end",
    [b"\r\n.\r\n", b"\n.\n", b"\n.\r\n", b"\r\n.\n"],
    ids=["crlf", "lf", "lf-crlf", "crlf-lf"],
)
def test_a_dot_alone_on_a_line_ends_the_data_however_lines_end(end) -> None:
    message, after, problem = decode(b"Subject: x\r\n\r\nbody" + end + b"QUIT\r\n")
    assert message == b"Subject: x\r\n\r\nbody" + end[: end.index(b".")]
    assert after == b"QUIT\r\n"  # pipelined commands go back to the session
    assert problem is None


@pytest.mark.parametrize("chunk", [None, 1, 4])
def test_dot_stuffing_is_removed_on_every_line_however_it_ends(chunk) -> None:
    sent = b"..first\r\nx\n..\n...three\r\n.\rcr\n.lone\n.\r\n"
    message, _, _ = decode(sent, chunk=chunk)
    assert message == b".first\r\nx\n.\n..three\r\n\rcr\nlone\n"


def test_lines_that_merely_start_with_a_dot_do_not_end_the_data() -> None:
    message, after, _ = decode(b"a\r\n.x\r\n. \r\n.\r\r\nb\r\n.\r\n")
    assert message == b"a\r\nx\r\n \r\n\r\r\nb\r\n"
    assert after == b""


def test_an_empty_message_ends_at_once() -> None:
    assert decode(b".\r\nQUIT\r\n") == (b"", b"QUIT\r\n", None)


def test_a_two_mib_bare_lf_message_is_not_one_long_line() -> None:
    body = b"".join(b"line %d of a message written with bare LF\n" % n for n in range(50_000))
    raw = b"Subject: big\n\n" + body + b".starts with a dot\n"
    assert len(raw) > 2 * 1024 * 1024
    stuffed = raw.replace(b"\n.", b"\n..")
    message, _, problem = decode(stuffed + b".\n", chunk=65536)
    assert problem is None
    assert message == raw


def test_message_over_the_size_limit_is_refused_after_its_end() -> None:
    message, after, problem = decode(
        b"Subject: x\r\n\r\n" + b"y" * 100 + b"\r\n.\r\nQUIT\r\n", size_limit=50
    )
    assert (message, after, problem) == (b"", b"QUIT\r\n", Problem.TOO_BIG)


def test_header_over_its_limit_is_refused() -> None:
    folded = b"To: a@example.com" + b",\r\n b@example.com" * 200 + b"\r\n"
    _, _, problem = decode(folded + b"\r\nbody\r\n.\r\n", header_limit=1024)
    assert problem is Problem.HEADER_TOO_BIG


def test_header_just_under_its_limit_is_accepted_and_the_body_does_not_count() -> None:
    header = b"Subject: " + b"x" * 1000 + b"\r\n"
    raw = header + b"\r\n" + b"body line\r\n" * 1000
    assert decode(raw + b".\r\n", header_limit=len(header), chunk=100) == (raw, b"", None)


def test_a_line_that_is_no_header_field_starts_the_body() -> None:
    # No blank line: a script that sends only text. Its size is not counted as header.
    raw = b"just some text\r\n" * 500
    assert decode(raw + b".\r\n", header_limit=100) == (raw, b"", None)


@pytest.mark.parametrize("chunk", [None, 1000, 7])
def test_a_line_over_the_limit_is_refused_and_the_rest_discarded(chunk) -> None:
    sent = b"Subject: x\r\n\r\n" + b"z" * 5000 + b"\r\nmore\r\n.\r\nQUIT\r\n"
    assert decode(sent, chunk=chunk, line_limit=4096) == (b"", b"QUIT\r\n", Problem.LINE_TOO_LONG)


def test_a_line_at_the_limit_is_accepted() -> None:
    raw = b"Subject: x\r\n\r\n" + b"z" * 4096 + b"\r\n"
    assert decode(raw + b".\r\n", line_limit=4096, chunk=1000) == (raw, b"", None)


def test_reply_names_the_limit() -> None:
    decoder = _decoder(size_limit=2048)
    decoder.feed(b"x" * 3000 + b"\r\n.\r\n")
    assert decoder.reply() == "552 5.3.4 Message too big: the limit is 2048 bytes"


def test_discarding_a_huge_folded_header_takes_linear_time() -> None:
    bomb = b"To: a@example.com" + b",\r\n b@example.com" * 120_000 + b"\r\n\r\nx\r\n.\r\n"
    started = time.perf_counter()
    _, _, problem = decode(bomb, chunk=65536)
    assert problem is Problem.HEADER_TOO_BIG
    assert time.perf_counter() - started < 2.0


def test_a_long_line_trickled_a_byte_at_a_time_takes_linear_time() -> None:
    decoder = _decoder(line_limit=100_000)
    started = time.perf_counter()
    for _ in range(300_000):
        decoder.feed(b"q")
    assert decoder.feed(b"\r\n.\r\n") == (b"", b"")
    assert decoder.problem is Problem.LINE_TOO_LONG
    assert time.perf_counter() - started < 5.0


@given(
    lines=st.lists(st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"")), max_size=20),
    endings=st.lists(st.sampled_from([b"\r\n", b"\n"]), min_size=20, max_size=20),
    chunk=st.integers(min_value=1, max_value=64),
)
def test_what_a_client_stuffs_is_what_is_stored(lines, endings, chunk) -> None:
    raw = b"".join(line + ending for line, ending in zip(lines, endings, strict=False))
    stuffed = b"".join(
        (b"." + line if line.startswith(b".") else line) + ending
        for line, ending in zip(lines, endings, strict=False)
    )
    message, after, problem = decode(stuffed + b".\r\nNOOP\r\n", chunk=chunk)
    assert (message, after, problem) == (raw, b"NOOP\r\n", None)
