"""The backoffice side of forms: creating, copying and arranging forms and their fields."""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import Max
from django.utils.text import slugify

from postroom.forms.models import Field, Form, Workflow
from postroom.forms.workflows import RESERVED_NAMES

ALIAS_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
RESERVED_PREFIX = "postroom"

STARTER_FIELDS = (
    (Field.Kind.SHORT_TEXT, "Name", "name", True),
    (Field.Kind.EMAIL, "Email", "email", True),
    (Field.Kind.LONG_TEXT, "Message", "message", True),
)
DEFAULT_SUBJECT = "New entry on {form_name}"
DEFAULT_MESSAGE = (
    "Someone filled in the form {form_name}.\n\n{all_fields}\n\nSee the entry: {entry_url}"
)
CONFIRMATION_SUBJECT = "We received your message"
CONFIRMATION_MESSAGE = (
    "Hello,\n\nThank you for getting in touch. This is what you sent us:\n\n{all_fields}\n"
)


def alias_problem(alias: str) -> str | None:
    if not ALIAS_PATTERN.match(alias):
        return (
            "Use lower-case letters, digits and _ only, starting with a letter "
            "(at most 50 characters), e.g. phone_number."
        )
    if alias in RESERVED_NAMES or alias.startswith(RESERVED_PREFIX):
        return f"“{alias}” is reserved by Postroom; choose another alias."
    return None


def derive_alias(label: str, taken: set[str]) -> str:
    """A slug-like alias from ``label`` that is not in ``taken``: "Phone number" -> phone_number."""
    base = slugify(label).replace("-", "_")[:40].strip("_") or "field"
    if not base[0].isalpha():
        base = f"field_{base}"[:40]
    if alias_problem(base):
        base = f"field_{base}"[:40]
    alias, number = base, 2
    while alias in taken:
        alias = f"{base}_{number}"
        number += 1
    return alias


def unique_slug(name: str, exclude_pk: int | None = None) -> str:
    base = slugify(name)[:70].strip("-") or "form"
    taken = set(Form.objects.exclude(pk=exclude_pk).values_list("slug", flat=True))
    slug, number = base, 2
    while slug in taken:
        slug = f"{base}-{number}"
        number += 1
    return slug


def next_position(queryset) -> int:  # noqa: ANN001 (a related manager or queryset)
    return (queryset.aggregate(m=Max("position"))["m"] or 0) + 1


def default_workflow_name(to: str) -> str:
    """The name a new form's workflow gets: "Email ada@example.com"."""
    return f"Email {to}"[:200]


def create_form(name: str, creator, slug: str = "") -> Form:  # noqa: ANN001 (a User)
    """A new contact form: name, email and message fields, and a workflow that emails the
    person who created it each entry (with Reply-To set to the sender's address)."""
    with transaction.atomic():
        form = Form.objects.create(name=name, slug=slug or unique_slug(name), created_by=creator)
        for position, (kind, label, alias, required) in enumerate(STARTER_FIELDS, start=1):
            Field.objects.create(
                form=form, kind=kind, label=label, alias=alias, required=required, position=position
            )
        if creator is not None and creator.email:
            Workflow.objects.create(
                form=form,
                position=1,
                name=default_workflow_name(creator.email),
                to=creator.email,
                reply_to="{email}",
                subject=DEFAULT_SUBJECT,
                message=DEFAULT_MESSAGE,
            )
    return form


def duplicate_form(form: Form, creator) -> Form:  # noqa: ANN001 (a User)
    """A copy of ``form`` with its fields and workflows, and none of its entries."""
    name = f"Copy of {form.name}"[:200]
    with transaction.atomic():
        copy = Form.objects.get(pk=form.pk)
        copy.pk = None
        copy.name = name
        copy.slug = unique_slug(f"{form.slug}-copy")
        copy.created_by = creator
        copy.save()
        for field in form.fields.all():
            field.pk = None
            field.form = copy
            field.save()
        for workflow in form.workflows.all():
            workflow.pk = None
            workflow.form = copy
            workflow.save()
    return copy


def move(item: Field | Workflow, direction: str) -> bool:
    """Swap ``item`` with its neighbour ("up" or "down"); positions are renumbered 1..n."""
    siblings = list(type(item).objects.filter(form_id=item.form_id).order_by("position", "id"))
    index = next(i for i, sibling in enumerate(siblings) if sibling.pk == item.pk)
    target = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= target < len(siblings):
        return False
    siblings[index], siblings[target] = siblings[target], siblings[index]
    with transaction.atomic():
        for position, sibling in enumerate(siblings, start=1):
            if sibling.position != position:
                type(item).objects.filter(pk=sibling.pk).update(position=position)
    return True


def rename_alias(form: Form, old: str, new: str) -> int:
    """Point the form's workflows at a field's new alias; returns how many changed."""
    changed = 0
    for workflow in form.workflows.all():
        fields = ("subject", "message", "reply_to", "to_field", "condition_field")
        before = [getattr(workflow, name) for name in fields]
        workflow.subject = workflow.subject.replace(f"{{{old}}}", f"{{{new}}}")
        workflow.message = workflow.message.replace(f"{{{old}}}", f"{{{new}}}")
        workflow.reply_to = workflow.reply_to.replace(f"{{{old}}}", f"{{{new}}}")
        if workflow.to_field == old:
            workflow.to_field = new
        if workflow.condition_field == old:
            workflow.condition_field = new
        if before != [getattr(workflow, name) for name in fields]:
            workflow.save()
            changed += 1
    return changed


def new_workflow(form: Form, kind: str, creator) -> Workflow:  # noqa: ANN001 (a User)
    """An unsaved workflow of ``kind`` with sensible defaults for this form."""
    email_fields = [f.alias for f in form.fields.all() if f.kind == Field.Kind.EMAIL]
    if kind == Workflow.Kind.CONFIRMATION:
        return Workflow(
            form=form,
            kind=kind,
            name="Confirmation to the sender",
            to_field=email_fields[0] if email_fields else "",
            subject=CONFIRMATION_SUBJECT,
            message=CONFIRMATION_MESSAGE,
            attach_uploads=False,
        )
    return Workflow(
        form=form,
        kind=Workflow.Kind.SEND_EMAIL,
        name="Send email",
        to=getattr(creator, "email", "") or "",
        reply_to=f"{{{email_fields[0]}}}" if email_fields else "",
        subject=DEFAULT_SUBJECT,
        message=DEFAULT_MESSAGE,
    )
