"""SPF and DMARC of the From address's domain: what receivers look up before trusting mail."""

from __future__ import annotations

import ipaddress
import re
import time
from email.utils import parseaddr

import dns.exception
import dns.resolver

from postroom.config import current_smtp_settings
from postroom.health import config, resolve
from postroom.health.registry import DELIVERY, Result, check


class LookupFailed(Exception):
    """Why a TXT lookup gave no answer (not: that there is no such record)."""


@check(
    "sender-domain",
    "SPF and DMARC of the sender's domain",
    DELIVERY,
    "Receivers check the From domain's SPF record (which servers may send for it) and DMARC"
    " policy; without them, mail is more likely to land in spam. Informational.",
    docs="README.md#configuring-smtp",
    network=True,
)
def sender_domain() -> list[Result]:
    address = parseaddr(str(current_smtp_settings().from_address.value or ""))[1]
    domain = address.rpartition("@")[2].strip().rstrip(".").lower()
    if not domain:
        return [Result.info("No From address is set, so there is no domain to look up.")]
    deadline = time.monotonic() + config.DNS_TIMEOUT
    try:
        resolver = make_resolver(deadline)
    except LookupFailed as error:
        return [
            Result.info(f"Could not look up the SPF and DMARC records of {domain}: {error}.", _FIX)
        ]
    return [
        _spf(domain, _records(resolver, domain, "v=spf1", deadline)),
        _dmarc(domain, _records(resolver, f"_dmarc.{domain}", "v=dmarc1", deadline)),
    ]


_FIX = (
    "Check this machine's DNS resolver (/etc/resolv.conf), or point"
    " Postroom:Health:DnsServer at a DNS server (host or host:port)."
)


def make_resolver(deadline: float) -> dns.resolver.Resolver:
    """The system resolver, or the one Postroom:Health:DnsServer names."""
    server = config.dns_server()
    if server is None:
        try:
            resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            raise LookupFailed("this machine has no DNS resolver configured") from None
    else:
        host, port = server
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [_address_of(host, port, deadline)]
        resolver.port = port
    resolver.timeout = config.DNS_TIMEOUT
    resolver.lifetime = config.DNS_TIMEOUT
    return resolver


def _address_of(host: str, port: int, deadline: float) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return str(resolve.getaddrinfo(host, port, deadline - time.monotonic())[0][4][0])
    except (OSError, IndexError):
        raise LookupFailed(
            f"the DNS server {host} (Postroom:Health:DnsServer) is unknown"
        ) from None


def _records(
    resolver: dns.resolver.Resolver, name: str, prefix: str, deadline: float
) -> list[str] | LookupFailed:
    """The TXT records at ``name`` that start with ``prefix``; a LookupFailed when unknown."""
    left = deadline - time.monotonic()
    if left <= 0:
        return LookupFailed(f"no answer within {config.DNS_TIMEOUT:g} s")
    try:
        answer = resolver.resolve(name, "TXT", lifetime=left, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.Timeout:
        return LookupFailed(f"no answer within {config.DNS_TIMEOUT:g} s")
    except dns.resolver.NoNameservers:
        return LookupFailed("the DNS server did not answer the question (SERVFAIL or REFUSED)")
    except dns.exception.DNSException as error:
        return LookupFailed(type(error).__name__)
    texts = [b"".join(rdata.strings).decode("utf-8", errors="replace") for rdata in answer]
    pattern = re.compile(re.escape(prefix) + r"(?:[\s;]|$)", re.IGNORECASE)
    return [text for text in texts if pattern.match(text)]


def _spf(domain: str, found: list[str] | LookupFailed) -> Result:
    if isinstance(found, LookupFailed):
        return Result.info(
            f"Could not look up the SPF record of {domain}: {found}.", _FIX, step="spf"
        )
    if not found:
        return Result.info(
            f"No SPF record found for {domain} (none found).",
            f"Add a TXT record at {domain} such as \"v=spf1 include:<your provider's SPF domain>"
            " -all\"; your mail provider's documentation names what to include.",
            step="spf",
        )
    if len(found) > 1:
        return Result.warning(
            f"{domain} has {len(found)} SPF records; receivers treat that as an error"
            f" (permerror): {' | '.join(found)}",
            "Merge them into one TXT record that starts with v=spf1.",
            step="spf",
        )
    return Result.info(f"SPF record of {domain}: {found[0]}", step="spf")


def _dmarc(domain: str, found: list[str] | LookupFailed) -> Result:
    where = f"_dmarc.{domain}"
    if isinstance(found, LookupFailed):
        return Result.info(
            f"Could not look up the DMARC record at {where}: {found}.", _FIX, step="dmarc"
        )
    if not found:
        return Result.info(
            f"No DMARC record found at {where} (none found).",
            f'Add a TXT record at {where}, e.g. "v=DMARC1; p=none; rua=mailto:dmarc@{domain}" to'
            " start by watching the reports, then tighten p= to quarantine or reject.",
            step="dmarc",
        )
    return Result.info(f"DMARC record at {where}: {found[0]}", step="dmarc")
