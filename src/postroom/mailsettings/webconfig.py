"""``web.config``: the .NET ``configuration/system.net/mailSettings/smtp`` section.

Each attribute becomes an entry of the layered map under the key appsettings.json uses, so
both formats are validated alike. Only ``web.config`` is read; transform files such as
``web.Release.config`` are not.

``enableSsl`` has no exact counterpart in MailKit's SecureSocketOptions. Postroom maps it so:

- ``enableSsl="true"`` with ``port="465"``: ``SslOnConnect`` (TLS from the first byte).
- ``enableSsl="true"`` with any other port: ``StartTls`` (plain connection, then STARTTLS
  required).
- ``enableSsl="false"`` or no ``enableSsl``: ``None`` (no TLS at all), as .NET's SmtpClient.

The port is the one web.config gives (25 when it gives none). The mapping applies only when
web.config has a ``<network>`` element; otherwise secure_socket_options comes from the other
sources or defaults to ``Auto``.

The section is read where .NET reads it for the site: directly under ``<configuration>``, or
inside ``<location path=".">`` (or ``path=""``, or no path), which applies to the site itself;
``<location>`` for other paths is about a sub-directory and is not read. Like .NET, a second
``<smtp>`` (or ``<network>``, ``<specifiedPickupDirectory>``) is an error that names both lines.
Attribute values are taken exactly as written, spaces included.

The XML is parsed with defusedxml: a DTD, entity declaration or external reference is
refused with an error, never expanded or fetched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from postroom.mailsettings import files
from postroom.mailsettings.layers import POSTROOM_SMTP, SMTP, Entry
from postroom.mailsettings.model import NONE as NO_TLS
from postroom.mailsettings.model import SSL_ON_CONNECT, START_TLS, Problem, Report

# attribute -> (key in the layered map, JSON field name)
_SMTP_ATTRIBUTES = {
    "from": (f"{SMTP}:from", "from"),
    "deliveryMethod": (f"{SMTP}:deliverymethod", "delivery_method"),
    "deliveryFormat": (f"{POSTROOM_SMTP}:deliveryformat", "delivery_format"),
}
_NETWORK_ATTRIBUTES = {
    "host": (f"{SMTP}:host", "host"),
    "port": (f"{SMTP}:port", "port"),
    "userName": (f"{SMTP}:username", "username"),
    "password": (f"{SMTP}:password", "password"),
    "clientDomain": (f"{POSTROOM_SMTP}:clientdomain", "client_domain"),
}
_PICKUP_ATTRIBUTES = {
    "pickupDirectoryLocation": (f"{SMTP}:pickupdirectorylocation", "pickup_directory"),
}
_KNOWN = {
    "mailSettings": {"configSource"},
    "smtp": {*_SMTP_ATTRIBUTES, "configSource"},
    "network": {*_NETWORK_ATTRIBUTES, "enableSsl", "defaultCredentials", "targetName"},
    "specifiedPickupDirectory": set(_PICKUP_ATTRIBUTES),
}


@dataclass
class Element:
    tag: str  # without namespace
    attributes: dict[str, str] = field(repr=False)
    line: int
    source: str  # file name for origins: "web.config", "Config/smtp.config"
    children: list[Element] = field(default_factory=list)

    def child(self, tag: str) -> Element | None:
        return next((child for child in self.children if child.tag == tag), None)

    def all(self, tag: str) -> list[Element]:
        return [child for child in self.children if child.tag == tag]

    @property
    def where(self) -> str:
        return f"{self.source} line {self.line}"


class XmlProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class WebConfig:
    entries: list[tuple[str, Entry]] = field(default_factory=list)
    watched: list[Path] = field(default_factory=list)


def read_web_config(site_dir: Path, report: Report) -> WebConfig:
    result = WebConfig()
    path = files.find(site_dir, "web.config")
    if path is None:
        return result
    result.watched.append(path)
    try:
        root = parse_xml(files.read_text(path, path.name), path.name)
        if root.tag != "configuration":
            raise _problem(
                root,
                f"the root element of {path.name} is <{root.tag}>, not <configuration>",
                "Make <configuration> the root element, as in every web.config.",
            )
        mails = [
            _include(mail, "mailSettings", site_dir, result)
            for system_net in _for_the_site(root, "system.net")
            for mail in system_net.all("mailSettings")
        ]
        smtps = _only_one([smtp for mail in mails for smtp in mail.all("smtp")], "smtp")
        smtp = _include(smtps[0], "smtp", site_dir, result) if smtps else None
    except (files.FileProblem, XmlProblem) as error:
        report.errors.append(error.problem)
        return result
    if smtp is not None:
        _read_smtp(smtp, result, report)
    return result


SITE_LOCATION_PATHS = ("", ".")


def _for_the_site(root: Element, tag: str) -> list[Element]:
    """``<tag>`` elements that apply to the site: top-level, or in ``<location path=".">``."""
    found = root.all(tag)
    for location in root.all("location"):
        path = _attribute(location, "path")
        if path is None or path.strip() in SITE_LOCATION_PATHS:
            found += location.all(tag)
    return found


def _only_one(elements: list[Element], tag: str) -> list[Element]:
    """``elements``, refused as .NET refuses a section or element written twice."""
    if len(elements) < 2:
        return elements
    first, second = elements[0], elements[1]
    places = (
        f"lines {first.line} and {second.line}"
        if first.source == second.source
        else f"{first.where} and {second.where}"
    )
    raise _problem(
        second,
        f"<{tag}> appears twice ({places}); .NET refuses the whole file when it does"
        f' ("Sections must only appear once per config file"), so none of it is used',
        f"Keep one <{tag}> element and delete the other (check <location> elements too).",
    )


def parse_xml(text: str, source: str) -> Element:
    builder = _Builder(source)
    parser = DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    # Our own element handlers, straight on expat, keep each start tag's line and skip the
    # sections we do not read; defusedxml's DTD and entity handlers stay in place.
    builder.expat = parser.parser
    parser.parser.StartElementHandler = builder.start
    parser.parser.EndElementHandler = builder.end
    try:
        parser.feed(text)
        parser.close()
    except ParseError as error:
        line, column = error.position
        reason = expat.ErrorString(error.code) if error.code else "not well-formed"
        raise XmlProblem(
            Problem(
                source,
                f"{source} is not well-formed XML: {reason} at line {line}, column {column + 1}.",
                line=line,
                hint="Fix the XML at that place; a quote or a closing tag is often missing.",
            )
        ) from None
    except DefusedXmlException:
        line = parser.parser.CurrentLineNumber
        raise XmlProblem(
            Problem(
                source,
                f"{source} has a DOCTYPE or entity declaration at line {line}; Postroom does"
                " not read DTDs or entities, so that they cannot expand or fetch files.",
                line=line,
                hint="Remove the <!DOCTYPE ...> block; a web.config does not need one.",
            )
        ) from None
    if builder.root is None:
        raise XmlProblem(Problem(source, f"{source} has no root element.", line=1))
    return builder.root


class _Builder:
    """Expat element handlers that build Elements for the path to <smtp> and skip the rest."""

    WANTED = frozenset(("location", "system.net", "mailSettings", "smtp", *_KNOWN))

    def __init__(self, source: str) -> None:
        self.source = source
        self.root: Element | None = None
        self.stack: list[Element | None] = []  # None: inside a skipped element
        self.expat: Any = None

    def start(self, tag: str, attributes: list[str]) -> None:
        local = _local(tag)
        if self.stack and (self.stack[-1] is None or local not in self.WANTED):
            self.stack.append(None)
            return
        pairs = {_local(attributes[i]): attributes[i + 1] for i in range(0, len(attributes), 2)}
        element = Element(local, pairs, self.expat.CurrentLineNumber, self.source)
        if self.stack:
            self.stack[-1].children.append(element)
        else:
            self.root = element
        self.stack.append(element)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def close(self) -> Element | None:
        return self.root


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _include(element: Element, tag: str, site_dir: Path, result: WebConfig) -> Element:
    """The element itself, or the one its ``configSource`` file holds (.NET's way)."""
    config_source = _attribute(element, "configSource")
    if config_source is None:
        return element
    written = config_source.strip()
    relative = written.replace("\\", "/")
    parts = PurePosixPath(relative).parts
    if (
        not relative
        or relative.startswith("/")
        or re.match(r"[A-Za-z]:", relative)
        or ".." in parts
    ):
        raise _problem(
            element,
            f'configSource="{written}" on <{tag}> must be a path inside the site directory',
            'Write a relative path such as configSource="Config\\smtp.config".',
        )
    result.watched += [site_dir / relative, (site_dir / relative).parent]
    path = files.find(site_dir, relative)
    if path is None:
        raise _problem(
            element,
            f'configSource="{written}" on <{tag}> names {relative}, which is not in {site_dir}',
            f"Create {relative} holding the <{tag}> element, or remove configSource and put the"
            " settings in web.config.",
        )
    result.watched.append(path)
    relative = path.relative_to(site_dir).as_posix()  # as found, whatever the letter case
    included = parse_xml(files.read_text(path, relative), relative)
    if included.tag != tag:
        raise _problem(
            included,
            f"{relative} must hold a <{tag}> element, not <{included.tag}>",
            f"Make <{tag}> the root element of {relative}.",
        )
    if _attribute(included, "configSource") is not None:
        raise _problem(
            included, f"{relative} has configSource itself", "A configSource file cannot point on."
        )
    return included


def _read_smtp(smtp: Element, result: WebConfig, report: Report) -> None:
    try:
        pickups = _only_one(smtp.all("specifiedPickupDirectory"), "specifiedPickupDirectory")
        networks = _only_one(smtp.all("network"), "network")
    except XmlProblem as error:
        report.errors.append(error.problem)
        return
    _check_attributes(smtp, report)
    _add(result, smtp, _SMTP_ATTRIBUTES)
    if pickups:
        _check_attributes(pickups[0], report)
        _add(result, pickups[0], _PICKUP_ATTRIBUTES)
    if not networks:
        return
    network = networks[0]
    _check_attributes(network, report)
    _add(result, network, _NETWORK_ATTRIBUTES)
    enable_ssl = _bool(network, "enableSsl", report, "secure_socket_options")
    if enable_ssl is not None:
        port = (_attribute(network, "port") or "25").strip()
        options = NO_TLS if not enable_ssl else SSL_ON_CONNECT if port == "465" else START_TLS
        name = "enableSsl on <network>"
        result.entries.append((f"{SMTP}:securesocketoptions", _entry(network, options, name)))
    if _bool(network, "defaultCredentials", report, "username"):
        report.warnings.append(
            _at(
                network,
                'defaultCredentials="true" (Windows integrated login) is not supported; Postroom'
                " logs in with userName and password when both are set",
                'Remove defaultCredentials="true" and set userName and password.',
                key="username",
            )
        )


def _add(result: WebConfig, element: Element, attributes: dict[str, tuple[str, str]]) -> None:
    for attribute, (key, _) in attributes.items():
        value = _attribute(element, attribute)
        if value is not None:
            name = f"{attribute} on <{element.tag}>"
            result.entries.append((key, _entry(element, value, name)))


def _entry(element: Element, value: str, name: str) -> Entry:
    return Entry(value, element.source, element.line, name)


def _attribute(element: Element, name: str) -> str | None:
    """The attribute's value; names are matched ignoring case (checked in _check_attributes)."""
    if name in element.attributes:
        return element.attributes[name]
    lowered = name.lower()
    return next((v for k, v in element.attributes.items() if k.lower() == lowered), None)


def _bool(element: Element, attribute: str, report: Report, key: str) -> bool | None:
    """The attribute as .NET reads a boolean (false when absent); None, reported, if invalid."""
    value = _attribute(element, attribute)
    if value is None or value.strip().lower() == "false":
        return False
    if value.strip().lower() == "true":
        return True
    report.errors.append(
        _at(
            element,
            f"{attribute} on <{element.tag}> is {value[:40]!r}; expected true or false",
            f'Write {attribute}="true" or {attribute}="false".',
            key=key,
        )
    )
    return None


def _check_attributes(element: Element, report: Report) -> None:
    known = _KNOWN[element.tag]
    by_lower = {name.lower(): name for name in known}
    for name in element.attributes:
        if name in known or name.startswith(("lock", "xmlns")):
            continue
        proper = by_lower.get(name.lower())
        if proper:
            message = f"{name} on <{element.tag}> is spelled {proper} in .NET, which refuses {name}"
            hint = f"Write {proper}; attribute names are case-sensitive in .NET."
        else:
            message = f"<{element.tag}> has an unknown attribute {name}; it is ignored"
            hint = f"Known attributes of <{element.tag}>: {', '.join(sorted(known))}."
        report.warnings.append(_at(element, message, hint))


def _at(element: Element, message: str, hint: str, key: str | None = None) -> Problem:
    return Problem(element.source, message + ".", line=element.line, key=key, hint=hint)


def _problem(element: Element, message: str, hint: str) -> XmlProblem:
    return XmlProblem(_at(element, message, hint))
