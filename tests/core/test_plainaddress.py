"""A plain address is read by the email package's parsers exactly as it is written."""

from __future__ import annotations

import random
from email.utils import getaddresses, parseaddr

import pytest

from postroom.core.plainaddress import is_plain
from postroom.delivery.enqueue import _addresses


def candidates(count: int, brackets: bool = False) -> list[str]:
    plain = "aZ09.-_+!#$%&'*/=?^`{|}~"  # half of them: mostly plain ones
    odd = plain + '@<>" ()[],;:\\\té'
    chance = random.Random(5322)
    found = []
    for n in range(count):
        characters = plain if n % 2 else odd
        local = "".join(chance.choice(characters) for _ in range(chance.randint(0, 10)))
        domain = "".join(chance.choice("ab9-.") for _ in range(chance.randint(0, 8)))
        around = chance.choice(["", " ", "\t", "  "])
        opening, closing = chance.choice([("", ""), ("<", ">"), ("<", ""), ("", ">")])
        if not brackets:
            opening = closing = ""
        found.append(f"{around}{opening}{local}@{domain}{closing}{around}")
    return found


def test_a_plain_address_is_what_parseaddr_and_getaddresses_find() -> None:
    plain = [text for text in candidates(20_000) if is_plain(text)]
    assert len(plain) > 1000  # the test looks at enough of them
    for text in plain:
        assert parseaddr(text) == ("", text)
        assert getaddresses([text]) == [("", text)]


@pytest.mark.parametrize("brackets", [False, True])
def test_header_addresses_are_read_as_getaddresses_reads_them(brackets: bool) -> None:
    texts = candidates(4_000, brackets)
    for first, second in zip(texts[::2], texts[1::2], strict=True):
        for values in ([first], [first, second]):
            expected = [address for _name, address in getaddresses(values) if address]
            assert _addresses(values) == expected, values


def test_a_plain_address_in_angle_brackets_is_read_without_the_email_package(monkeypatch):
    import postroom.delivery.enqueue as enqueue

    monkeypatch.setattr(enqueue, "getaddresses", lambda values: pytest.fail(str(values)))
    assert _addresses(["<ann@example.net>", " bob@example.net "]) == [
        "ann@example.net",
        "bob@example.net",
    ]
