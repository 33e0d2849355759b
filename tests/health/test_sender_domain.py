"""SPF and DMARC of the From domain, looked up on a DNS server on loopback."""

from __future__ import annotations

import time

from health.runs import run_by_step
from processes import free_port


def test_the_records_found_are_shown(configure_smtp, dns_server):
    server = dns_server(
        {
            "postroom.test": ["google-site-verification=abc", "v=spf1 include:_spf.mail.test -all"],
            "_dmarc.postroom.test": ["v=DMARC1; p=quarantine; rua=mailto:d@postroom.test"],
        }
    )
    configure_smtp(sender="Website <website@postroom.test>")

    run, steps = run_by_step("sender-domain")

    assert run.status == "info"
    assert steps["spf"].message == "SPF record of postroom.test: v=spf1 include:_spf.mail.test -all"
    assert steps["dmarc"].message == (
        "DMARC record at _dmarc.postroom.test: v=DMARC1; p=quarantine; rua=mailto:d@postroom.test"
    )
    assert {"postroom.test", "_dmarc.postroom.test"} <= set(server.questions)


def test_missing_records_are_information_with_how_to_add_them(configure_smtp, dns_server):
    dns_server({"postroom.test": ["some other text"]})  # no SPF; _dmarc does not exist
    configure_smtp(sender="website@postroom.test")

    run, steps = run_by_step("sender-domain")

    assert run.status == "info"
    assert "No SPF record found for postroom.test" in steps["spf"].message
    assert "v=spf1" in steps["spf"].fix
    assert "No DMARC record found at _dmarc.postroom.test" in steps["dmarc"].message
    assert "v=DMARC1; p=none" in steps["dmarc"].fix


def test_two_spf_records_are_a_warning(configure_smtp, dns_server):
    dns_server({"postroom.test": ["v=spf1 a -all", "v=spf1 mx -all"], "_dmarc.postroom.test": []})
    configure_smtp(sender="website@postroom.test")

    run, steps = run_by_step("sender-domain")

    assert steps["spf"].status == "warning"
    assert "2 SPF records" in steps["spf"].message


def test_an_unreachable_dns_server_says_could_not_look_up_quickly(configure_smtp, monkeypatch):
    monkeypatch.setenv("Postroom__Health__DnsServer", f"127.0.0.1:{free_port()}")
    configure_smtp(sender="website@postroom.test")

    started = time.monotonic()
    run, steps = run_by_step("sender-domain")

    assert time.monotonic() - started < 3 + 1
    assert run.status == "info"
    assert "Could not look up the SPF record of postroom.test" in steps["spf"].message
    assert "Could not look up the DMARC record" in steps["dmarc"].message
    assert "Postroom:Health:DnsServer" in steps["spf"].fix


def test_without_a_from_address_there_is_nothing_to_look_up(db):
    run, _ = run_by_step("sender-domain")

    assert run.status == "info"
    assert "No From address" in run.results[0].message
