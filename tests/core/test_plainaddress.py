"""A plain address is read by the email package's parsers exactly as it is written."""

from __future__ import annotations

import random
from email.utils import getaddresses, parseaddr

from postroom.core.plainaddress import is_plain
from postroom.delivery.enqueue import _addresses


def candidates(count: int) -> list[str]:
    plain = "aZ09.-_+!#$%&'*/=?^`{|}~"  # half of them: mostly plain ones
    odd = plain + '@<>" ()[],;:\\\té'
    chance = random.Random(5322)
    found = []
    for n in range(count):
        characters = plain if n % 2 else odd
        local = "".join(chance.choice(characters) for _ in range(chance.randint(0, 10)))
        domain = "".join(chance.choice("ab9-.") for _ in range(chance.randint(0, 8)))
        around = chance.choice(["", " ", "\t", "  "])
        found.append(f"{around}{local}@{domain}{around}")
    return found


def test_a_plain_address_is_what_parseaddr_and_getaddresses_find() -> None:
    plain = [text for text in candidates(20_000) if is_plain(text)]
    assert len(plain) > 1000  # the test looks at enough of them
    for text in plain:
        assert parseaddr(text) == ("", text)
        assert getaddresses([text]) == [("", text)]


def test_header_addresses_are_read_as_getaddresses_reads_them() -> None:
    texts = candidates(4_000)
    for first, second in zip(texts[::2], texts[1::2], strict=True):
        for values in ([first], [first, second]):
            expected = [address for _name, address in getaddresses(values) if address]
            assert _addresses(values) == expected, values
