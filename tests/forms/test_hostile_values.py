"""Hostile answers to every kind of field never break a page, a header or the HTML part.

Hypothesis posts CR/LF, NUL, line separators, huge strings, unicode, HTML and ``{alias}``
placeholders to a form with one field of each kind and two workflows, then reads every
queued message back with the ``email`` package.
"""

from __future__ import annotations

from datetime import date
from html import escape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from formhelpers import add_field, form_emails, html_part, old_token, parsed, text_part
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from postroom.forms import builder
from postroom.forms.formdefs import clean_filename, display_value
from postroom.forms.models import Entry, Workflow
from postroom.forms.placeholders import header_safe
from postroom.forms.workflows import single_address

pytestmark = pytest.mark.django_db

ALIASES = (
    "short",
    "long",
    "email",
    "number",
    "date",
    "single",
    "multi",
    "check",
    "upload",
    "hidden",
)
CHOICES = ["Plain", '<b>Bold & "quoted"</b>', "{short}", "Ünïcödé ✓"]
NOTIFICATION_HEADERS = {
    "content-type",
    "mime-version",
    "subject",
    "from",
    "to",
    "date",
    "message-id",
}
CONFIRMATION_HEADERS = NOTIFICATION_HEADERS | {"auto-submitted"}

FRAGMENTS = st.sampled_from(
    [
        "\r\n", "\n", "\r", "\x00", "\x0b", "\x1b[31m", "\u2028", "\u2029", "\x85",
        "\r\nBcc: victim@example.org", "\nSubject: hijacked", "\r\n\r\n<html>body</html>",
        "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "&amp;", "\"'`",
        "{short}", "{email}", "{all_fields}", "{entry_url}", "{{long}}", "{", "}",
        "=?utf-8?q?=0D=0ABcc:_x@example.org?=", "%0d%0a", "ünïcödé", "日本語", "🙂", "‮",
        "a@example.com", "x" * 120,
    ]
)  # fmt: skip
# Hostile but acceptable to a text field (no NUL, not too long), and anything at all.
PASSABLE = st.lists(st.one_of(FRAGMENTS.filter(lambda f: "\x00" not in f), st.text(max_size=20)),
                    max_size=5).map("".join)  # fmt: skip
HOSTILE = st.one_of(
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=6).map("".join),
    st.integers(min_value=400, max_value=12_000).map(lambda n: "y" * n),
)
# Valid addresses whose local part holds placeholders and other printable specials.
ADDRESSES = st.from_regex(r"\A[a-z0-9{}'+!#$%&*=?^_`|~-]{1,24}@example\.(com|org)\Z")
CHOICE = st.sampled_from(CHOICES)
DATES = st.dates(date(1900, 1, 1), date(2100, 12, 31)).map(date.isoformat)

# Answers each field accepts, hostile wherever the field allows it.
ACCEPTED = {
    "short": PASSABLE,
    "long": PASSABLE,
    "email": st.one_of(ADDRESSES, st.just("")),
    "number": st.one_of(
        st.integers(min_value=-(10**12), max_value=10**12).map(str),
        st.decimals(min_value=-(10**9), max_value=10**9, places=3).map(str),
        st.just(""),
    ),
    "date": st.one_of(DATES, st.just("")),
    "single": st.one_of(CHOICE, st.just("")),
    "multi": st.lists(CHOICE, unique=True),
    "check": st.one_of(st.just("yes"), st.just(""), PASSABLE),
    "hidden": PASSABLE,
}
# Anything at all, for one field at a time (most of it is refused by validation).
ANYTHING = {
    **dict.fromkeys(ACCEPTED, HOSTILE),
    "email": st.one_of(
        st.emails(),
        st.emails().map(lambda address: address + "\r\nBcc: victim@example.org"),
        HOSTILE,
    ),
    "number": st.one_of(st.sampled_from(["NaN", "Infinity", "-0", "1e999999", "0x10"]), HOSTILE),
    "multi": st.lists(HOSTILE, max_size=3),
}


@st.composite
def answer_sets(draw: st.DrawFn) -> dict:
    """Accepted (but hostile) answers everywhere, and sometimes anything in one field."""
    answers = {alias: draw(strategy) for alias, strategy in ACCEPTED.items()}
    wild = draw(st.sampled_from([None, *ACCEPTED]))
    if wild is not None:
        answers[wild] = draw(ANYTHING[wild])
    return answers


FILENAMES = st.text(
    st.characters(codec="utf-8", exclude_characters='"\\\r\n', exclude_categories=["Cc"]),
    min_size=1,
    max_size=60,
)


KNOWN_GOOD_AND_HOSTILE = {
    "short": "{email}\r\nBcc: victim@example.org",
    "long": "<script>alert(1)</script>\r\n{short}\u2028{all_fields}",
    "email": "o'brien+{short}@example.com",
    "number": "-12.50",
    "date": "2025-01-31",
    "single": '<b>Bold & "quoted"</b>',
    "multi": ["{short}", "Plain"],
    "check": "yes",
    "hidden": "\x85Subject: hijacked\r\n\r\n<html>",
}


@pytest.fixture
def everything(administrator):
    form = builder.create_form("Everything", administrator)
    form.fields.all().delete()
    form.min_fill_seconds = 0
    form.rate_limit = 0
    form.save()
    add_field(form, "short_text", "Short", "short")
    add_field(form, "long_text", "Long", "long")
    add_field(form, "email", "Email", "email")
    add_field(form, "number", "Number", "number")
    add_field(form, "date", "Date", "date")
    add_field(form, "single_choice", "Single", "single", choices="\n".join(CHOICES))
    add_field(form, "multiple_choice", "Multi", "multi", choices="\n".join(CHOICES))
    add_field(form, "checkbox", "Check", "check")
    add_field(form, "file", "Upload", "upload", allowed_types="txt, pdf")
    add_field(form, "hidden", "Hidden", "hidden")
    markers = "\n".join(f"⟦{alias}:{{{alias}}}⟧" for alias in ALIASES)
    form.workflows.update(
        subject="S " + " ".join(f"{{{alias}}}" for alias in ALIASES),
        reply_to="{email}",
        message=f"{markers}\n{{all_fields}}",
    )
    Workflow.objects.create(
        form=form, kind="confirmation", name="Thanks", to_field="email", position=2,
        subject="Thanks {short}", message=markers,
    )  # fmt: skip
    return form


def header_names(raw: bytes) -> list[str]:
    """The names of the header lines, read straight from the bytes (continuations skipped)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [
        line.split(b":", 1)[0].decode().lower()
        for line in head.split(b"\r\n")
        if line[:1] not in (b" ", b"\t")
    ]


def same_words(header: object, expected: str) -> bool:
    """Equal but for the white space that folding long header lines may move."""
    return str(header).split() == expected.split()


def check_message(row, entry: Entry) -> None:
    raw = bytes(row.raw)
    mail = parsed(row)
    confirmation = row.subject.startswith("Thanks")
    values = {alias: display_value(entry.values.get(alias, "")) for alias in ALIASES}
    reply_to = single_address(values["email"])

    expected = set(CONFIRMATION_HEADERS if confirmation else NOTIFICATION_HEADERS)
    if reply_to and not confirmation:
        expected.add("reply-to")
    names = header_names(raw)
    assert sorted(names) == sorted(expected), names  # each once, nothing injected
    assert sorted(name.lower() for name in mail) == sorted(expected)
    for name in mail:
        assert not set(str(mail[name])) & set("\r\n\x00\x85\u2028\u2029"), name

    if confirmation:
        assert mail["To"] == reply_to
        assert same_words(mail["Subject"], header_safe(f"Thanks {values['short']}"))
    else:
        assert mail["To"] == "admin@example.com"
        assert mail["Reply-To"] == reply_to
        subject = header_safe("S " + " ".join(values[alias] for alias in ALIASES))
        assert same_words(mail["Subject"], subject)

    text, html = text_part(mail), html_part(mail)
    for alias in ALIASES:
        # Inserted once, as given: a placeholder inside an answer is never filled in.
        assert f"⟦{alias}:{values[alias]}⟧" in text
        escaped = escape(values[alias]).replace("\n", "<br>\n")
        assert f"⟦{alias}:{escaped}⟧" in html
    assert "<script" not in html and "<img" not in html and "<b>Bold" not in html


@pytest.mark.slow  # 300 generated submissions
@pytest.mark.timeout(300)
@settings(
    max_examples=300,
    deadline=None,
    database=None,  # nothing written into the work tree; failures print their example
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(answers=answer_sets(), filename=st.one_of(st.none(), FILENAMES))
@example(answers=KNOWN_GOOD_AND_HOSTILE, filename='<b onclick="x">{short}\u2028.txt')
def test_hostile_answers_never_inject_headers_or_html(client, everything, answers, filename):
    before = {row.pk for row in form_emails()}
    data = {**answers, "postroom_ts": old_token(everything)}
    if filename is not None:
        data["upload"] = SimpleUploadedFile(filename + ".txt", b"<b>file</b>\r\nBcc: x@example.org")

    response = client.post("/f/everything/", data)  # an exception here fails the test

    assert response.status_code in (302, 400)
    event("accepted" if response.status_code == 302 else "refused by validation")
    if answers is KNOWN_GOOD_AND_HOSTILE:
        assert response.status_code == 302, response.content.decode()[:2000]
    new = [row for row in form_emails() if row.pk not in before]
    if response.status_code == 400:
        assert not new
        return
    entry = Entry.objects.latest("id")
    assert entry.values["short"] == answers["short"].strip().replace("\r\n", "\n").replace(
        "\r", "\n"
    )
    reply_to = single_address(display_value(entry.values["email"]))
    assert len(new) == (2 if reply_to else 1)
    for row in new:
        check_message(row, entry)
    if filename is not None and entry.uploads.exists():
        attachment = next(parsed(new[0]).iter_attachments())
        assert attachment.get_filename() == entry.uploads.get().original_name


@settings(database=None)
@given(st.text(max_size=400))
def test_uploaded_file_names_are_made_safe(name):
    cleaned = clean_filename(name)
    assert cleaned and len(cleaned) <= 150
    assert not set(cleaned) & set('/\\:*?"<>|\r\n\x00\x85\u2028\u2029')
    assert all(ord(char) >= 0x20 and char != "\x7f" for char in cleaned)
    assert cleaned not in (".", "..")
