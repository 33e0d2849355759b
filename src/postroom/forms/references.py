"""Which field aliases a workflow uses, and which of them no field of its form has.

A workflow names fields by alias in its Subject, Message and Reply-To (``{alias}``), in a
confirmation's "To" field and in its condition. Removing or renaming a field can leave a
workflow pointing at nothing: the builder warns before a removal, the Workflows list marks
such a workflow broken, and sending leaves the unknown placeholder blank with a note.
"""

from __future__ import annotations

from collections.abc import Iterable

from postroom.forms.models import Form, Workflow
from postroom.forms.placeholders import PLACEHOLDER

# Filled in for every entry, whatever the form's fields (see workflows.placeholder_values).
RESERVED_NAMES = ("all_fields", "form_name", "entry_id", "entry_url", "submitted_at")


def placeholders_in(*texts: str) -> list[str]:
    """The ``{alias}`` names in ``texts``, each once, in the order they first appear."""
    seen: dict[str, None] = {}
    for text in texts:
        for name in PLACEHOLDER.findall(text or ""):
            seen.setdefault(name, None)
    return list(seen)


def aliases_used(workflow: Workflow) -> list[str]:
    """Every field alias the workflow depends on (reserved names left out)."""
    names = placeholders_in(workflow.subject, workflow.message, workflow.reply_to)
    if workflow.kind == Workflow.Kind.CONFIRMATION and workflow.to_field:
        names.append(workflow.to_field)
    if workflow.condition_field:
        names.append(workflow.condition_field)
    return [name for name in dict.fromkeys(names) if name not in RESERVED_NAMES]


def unknown_aliases(workflow: Workflow, known: Iterable[str]) -> list[str]:
    """The aliases the workflow uses that no field of the form has."""
    known = set(known)
    return [name for name in aliases_used(workflow) if name not in known]


def workflows_using(form: Form, alias: str) -> list[Workflow]:
    """The form's workflows that use ``alias``, in their running order."""
    return [workflow for workflow in form.workflows.all() if alias in aliases_used(workflow)]
