"""What happens on submit: each workflow of the form becomes an email in the outbox.

:func:`run_workflows` is called inside the transaction that saves the entry, so the entry
and its emails exist together or not at all. Nothing is sent from the request: the
delivery worker sends, retries and alerts.

Safety: values go into headers only through :func:`placeholders.header_safe` (no CR/LF),
Reply-To is used only when it is exactly one valid address, recipients (To, Cc, Bcc,
From) are fixed addresses typed in the backoffice, never answers, except the confirmation's
To which is the answer to an email field (validated as one address).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.utils import formataddr, getaddresses, parseaddr

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse

from postroom.delivery import actions, sources
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import Kind, OutboxMessage, Status
from postroom.forms import placeholders, uploads
from postroom.forms.formdefs import display_value
from postroom.forms.models import Entry, Field, Upload, Workflow, WorkflowRun
from postroom.forms.references import RESERVED_NAMES as RESERVED_NAMES  # where others look
from postroom.forms.references import placeholders_in

log = logging.getLogger("postroom.forms")

ATTACHMENT_LIMIT = 10 * 1024 * 1024
ATTACHMENT_LIMIT_LABEL = "10 MB"
_SEPARATORS = str.maketrans({";": ",", "\n": ",", "\r": ","})


@dataclass
class EntryContext:
    entry: Entry
    fields: list[Field]
    uploads: list[Upload]
    base_url: str = ""  # scheme://host for links in emails; empty: paths only

    @classmethod
    def load(cls, entry: Entry, base_url: str = "") -> EntryContext:
        return cls(entry, list(entry.form.fields.all()), list(entry.uploads.all()), base_url)

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}"


def answer_rows(
    entry: Entry, fields: list[Field], *, for_submitter: bool = False
) -> list[tuple[str, str]]:
    """(label, value) for every answer: the form's fields in order, then removed fields.

    ``for_submitter``: the visitor's own copy leaves out hidden fields (internal values such
    as a campaign or a price list) and answers to removed fields; use {alias} to show one.
    """
    rows = []
    known = set()
    for field in fields:
        known.add(field.alias)
        if for_submitter and field.kind == Field.Kind.HIDDEN:
            continue
        if field.alias in entry.values:
            rows.append((field.label, display_value(entry.values[field.alias])))
    if not for_submitter:
        rows += [
            (alias, display_value(v)) for alias, v in entry.values.items() if alias not in known
        ]
    return rows


def placeholder_values(context: EntryContext, *, for_submitter: bool = False) -> dict[str, str]:
    """Every placeholder an email may use: each field of the form (empty when the visitor
    left it out), answers to fields removed since, and the reserved names."""
    entry = context.entry
    values = {field.alias: "" for field in context.fields}
    values.update({alias: display_value(value) for alias, value in entry.values.items()})
    values.update(
        form_name=entry.form.name,
        entry_id=str(entry.pk),
        entry_url=context.url(entry.get_absolute_url()),
        submitted_at=entry.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        all_fields=placeholders.fields_table_text(
            answer_rows(entry, context.fields, for_submitter=for_submitter)
        ),
    )
    return values


def condition_met(workflow: Workflow, values: dict) -> bool:
    if not workflow.condition_field:
        return True
    answer = values.get(workflow.condition_field, "")
    items = answer if isinstance(answer, list) else [answer]
    wanted = workflow.condition_value.strip().casefold()
    if workflow.condition_operator == Workflow.Operator.CONTAINS:
        return wanted in display_value(answer).casefold()
    return any(str(item).strip().casefold() == wanted for item in items)


def describe_condition(workflow: Workflow) -> str:
    if not workflow.condition_field:
        return "every entry"
    return (
        f"{{{workflow.condition_field}}} {workflow.get_condition_operator_display()} "
        f"“{workflow.condition_value}”"
    )


def split_addresses(text: str) -> tuple[list[str], list[str]]:
    """Valid and invalid addresses in a list separated by ; or , (or new lines)."""
    valid, invalid = [], []
    for part in text.translate(_SEPARATORS).split(","):
        part = placeholders.header_safe(part, limit=320)
        if not part:
            continue
        address = single_address(part)
        (valid if address else invalid).append(address or part)
    return valid, invalid


def single_address(text: str) -> str | None:
    """``text`` as one valid address (``Name <a@b>`` allowed), or None."""
    text = placeholders.header_safe(text, limit=320)
    if not text or "," in text or ";" in text:
        return None
    pairs = getaddresses([text])
    if len(pairs) != 1:
        return None
    name, address = pairs[0]
    try:
        validate_email(address)
    except ValidationError:
        return None
    if parseaddr(text)[1] != address:
        return None
    return formataddr((name, address)) if name else address


def build_message(
    workflow: Workflow, context: EntryContext
) -> tuple[EmailMultiAlternatives | None, list[str]]:
    """The email for one workflow and entry, or None with the reason; plus notes to show."""
    notes: list[str] = []
    for_submitter = workflow.kind == Workflow.Kind.CONFIRMATION
    values = placeholder_values(context, for_submitter=for_submitter)
    unknown = [
        name
        for name in placeholders_in(workflow.subject, workflow.message, workflow.reply_to)
        if name not in values
    ]
    if unknown:  # rendered empty: a literal "{alias}" must never reach the reader
        listed = ", ".join(f"{{{name}}}" for name in unknown)
        notes.append(
            f"Left blank: {listed}, which no field of the form has (removed or renamed). "
            "Edit the workflow to fix it."
        )
    if workflow.kind == Workflow.Kind.CONFIRMATION:
        answer = display_value(context.entry.values.get(workflow.to_field, ""))
        address = single_address(answer)
        if not address:
            return None, [f"No valid address in the field {{{workflow.to_field}}}."]
        to, cc, bcc = [address], [], []
    else:
        to, bad_to = split_addresses(workflow.to)
        cc, bad_cc = split_addresses(workflow.cc)
        bcc, bad_bcc = split_addresses(workflow.bcc)
        if bad_to or bad_cc or bad_bcc:
            notes.append("Left out invalid addresses: " + ", ".join(bad_to + bad_cc + bad_bcc))
        if not (to or cc or bcc):
            return None, [*notes, "There is no valid recipient: set To on the workflow."]

    reply_to: list[str] = []
    if workflow.reply_to.strip():
        address = single_address(placeholders.render_header(workflow.reply_to, values))
        if address:
            reply_to = [address]
        else:
            notes.append("Reply-To left out: it was not one valid address.")
    sender = single_address(workflow.sender) if workflow.sender.strip() else None
    subject = (
        placeholders.render_header(workflow.subject, values) or f"New entry: {values['form_name']}"
    )

    attachments, attachment_note = _attachments(workflow, context)
    if attachment_note:
        notes.append(attachment_note.splitlines()[0])
    text = placeholders.render_text(workflow.message, values)
    all_fields_html = placeholders.fields_table_html(
        answer_rows(context.entry, context.fields, for_submitter=for_submitter)
    )
    html = placeholders.render_html(workflow.message, values, all_fields_html)
    if attachment_note:
        text = f"{text}\n\n{attachment_note}"
        html = f"{html}<br>\n<br>\n{placeholders.render_html(attachment_note, {}, '')}"

    headers = (
        {"Auto-Submitted": "auto-replied"} if workflow.kind == Workflow.Kind.CONFIRMATION else {}
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=sender,
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=reply_to,
        headers=headers,
    )
    if workflow.send_html:
        message.attach_alternative(placeholders.html_document(html), "text/html")
    for upload, content in attachments:
        message.attach(upload.original_name, content, upload.content_type)
    return message, notes


def _attachments(
    workflow: Workflow, context: EntryContext
) -> tuple[list[tuple[Upload, bytes]], str]:
    """The uploads to attach, or a note with links when they are over the limit."""
    if workflow.kind != Workflow.Kind.SEND_EMAIL or not workflow.attach_uploads:
        return [], ""
    if not context.uploads:
        return [], ""
    total = sum(upload.size for upload in context.uploads)
    if total > ATTACHMENT_LIMIT:
        lines = [
            f"The uploaded files ({total / 1024 / 1024:.1f} MB in all) are larger than the "
            f"{ATTACHMENT_LIMIT_LABEL} that can be attached, so none is attached. "
            "Download them from the entry (you need to log in):"
        ]
        for upload in context.uploads:
            path = reverse(
                "forms:upload", args=[context.entry.form_id, context.entry.pk, upload.pk]
            )
            lines.append(f"- {upload.original_name} ({_size(upload.size)}): {context.url(path)}")
        return [], "\n".join(lines)
    attached = []
    missing = []
    for upload in context.uploads:
        try:
            attached.append((upload, uploads.read_bytes(upload.stored_name)))
        except (OSError, ValueError):
            missing.append(upload.original_name)
    note = (
        f"These files could not be read and are not attached: {', '.join(missing)}."
        if missing
        else ""
    )
    return attached, note


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{max(size // 1024, 1)} KB"


def run_one(
    workflow: Workflow, context: EntryContext, run: WorkflowRun | None = None
) -> WorkflowRun:
    """Queue the email of ``workflow`` for the entry; returns the saved (or updated) run."""
    run = run or WorkflowRun(entry=context.entry, workflow=workflow, name=workflow.name)
    run.message = None
    if not condition_met(workflow, context.entry.values):
        run.status = WorkflowRun.Status.SKIPPED
        run.note = f"Not sent: the condition ({describe_condition(workflow)}) was not met."
        run.save()
        return run
    message, notes = build_message(workflow, context)
    if message is None:
        run.status = WorkflowRun.Status.ERROR
        run.note = " ".join(notes)
    else:
        run.message = enqueue(message, kind=Kind.FORM)
        run.status = WorkflowRun.Status.QUEUED
        run.note = " ".join(notes)
    run.save()
    return run


def run_workflows(entry: Entry, base_url: str = "") -> list[WorkflowRun]:
    """Every enabled workflow of the entry's form, each in a savepoint of the caller's
    transaction: one that cannot be built is recorded as not sent, the entry is kept."""
    context = EntryContext.load(entry, base_url)
    runs = []
    for workflow in entry.form.workflows.filter(enabled=True):
        try:
            with transaction.atomic():
                runs.append(run_one(workflow, context))
        except Exception as error:
            log.exception("Workflow %s failed for entry %s", workflow.pk, entry.pk)
            runs.append(
                WorkflowRun.objects.create(
                    entry=entry,
                    workflow=workflow,
                    name=workflow.name,
                    status=WorkflowRun.Status.ERROR,
                    note=f"Could not build the email ({type(error).__name__}).",
                )
            )
    return runs


def retry(run: WorkflowRun, base_url: str = "") -> tuple[str, str]:
    """Try a workflow run again; returns (message level, what was done)."""
    message = run.message
    if message is not None:
        queryset = OutboxMessage.objects.filter(pk=message.pk)
        if actions.retry_now(queryset):
            return "success", "Queued to be sent again now."
        message.refresh_from_db()
        if message.status in (Status.QUEUED, Status.SENDING):
            return "info", "This email is being sent already."
        if message.status == Status.HELD:
            return "warning", (
                "This email is held until SMTP is configured (see Settings); "
                "it is sent as soon as it is."
            )
        if bytes(message.raw):
            copies = actions.resend([message])
            run.message = copies[0]
            run.note = f"Sent again as a new copy of message #{message.pk}."
            run.save(update_fields=["message", "note"])
            return "success", "Queued a new copy of this email."
    if run.workflow is None:
        return "error", "The workflow was removed, so there is nothing to send again."
    with transaction.atomic():
        run_one(run.workflow, EntryContext.load(run.entry, base_url), run)
    if run.status == WorkflowRun.Status.QUEUED:
        return "success", "Built the email again from the entry and queued it."
    return "error", run.note


def entry_source(message: OutboxMessage) -> sources.Source | None:
    """The form entry whose workflow queued ``message``, for the email log's link back."""
    if message.kind != Kind.FORM:
        return None
    run = WorkflowRun.objects.filter(message=message).select_related("entry__form").first()
    if run is None:
        return None
    entry = run.entry
    return sources.Source(f"Entry #{entry.pk} on {entry.form.name}", entry.get_absolute_url())
