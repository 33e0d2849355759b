"""The quick reading of MAIL FROM and RCPT TO paths gives exactly what aiosmtpd's parser gives."""

from __future__ import annotations

import random

import pytest
from aiosmtpd.smtp import SMTP

from postroom.core.smtpserver import LimitedSMTP

EXAMPLES = [
    "<bench@example.org>",
    "<someone@example.net> SIZE=1234 BODY=8BITMIME",
    "<a.b+tag@mail-1.example.org>",
    "<a@b> ",
    "<a@b>\t SIZE=1",
    "<a@b> (a comment) SIZE=1",
    "<a@b>>",
    "<a..b@example.org>",
    "<.a@example.org>",
    "<a@example.org.>",
    "<a@[192.0.2.1]>",
    '<"quoted local"@example.org>',
    "<@relay.example:a@example.org>",
    " <a@example.org>",
    "<>",
    "a@example.org",
    "<a@example.org",
    "<é@example.org>",
    "<a@exa_mple.org>",
    "<" + "x" * 65 + "@example.org>",
]


def answers(arg: str, local_part_limit: int = 0) -> tuple[object, object]:
    """Both readings: each an (address, rest) pair, or the type of the error it raised
    (aiosmtpd's parser fails on some odd paths: the quick one must fail on them too)."""
    found = []
    for kind in (LimitedSMTP, SMTP):
        server = kind.__new__(kind)
        server.local_part_limit = local_part_limit
        try:
            found.append(server._getaddr(arg))
        except Exception as error:  # noqa: BLE001 (the error's type is the answer)
            found.append(type(error))
    return found[0], found[1]


@pytest.mark.parametrize("arg", EXAMPLES)
@pytest.mark.parametrize("local_part_limit", [0, 64])
def test_each_example_is_read_as_aiosmtpd_reads_it(arg, local_part_limit) -> None:
    quick, full = answers(arg, local_part_limit)
    assert quick == full


def test_random_paths_are_read_as_aiosmtpd_reads_them() -> None:
    plain = "aZ09.-_+!#$%&'*/=?^`{|}~"  # half the paths: mostly ones read the quick way
    odd = plain + '@<>" ()[],;:\\\té'
    chance = random.Random(5321)
    for n in range(20_000):
        characters = plain if n % 2 else odd
        local = "".join(chance.choice(characters) for _ in range(chance.randint(0, 10)))
        domain = "".join(chance.choice("ab9-.") for _ in range(chance.randint(0, 8)))
        rest = "".join(chance.choice(" \tSIZE=1>()") for _ in range(chance.randint(0, 6)))
        arg = f"<{local}@{domain}>{rest}"
        quick, full = answers(arg)
        assert quick == full, arg
