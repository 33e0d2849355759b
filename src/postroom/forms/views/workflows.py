"""Backoffice screens for a form's workflows: what happens to each entry."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from postroom.forms import builder
from postroom.forms.editing import WorkflowForm
from postroom.forms.models import Workflow
from postroom.forms.references import unknown_aliases
from postroom.forms.views.common import editors, form_context, form_or_404
from postroom.forms.workflows import ATTACHMENT_LIMIT_LABEL, RESERVED_NAMES, describe_condition


@editors
@require_GET
def workflow_list(request: HttpRequest, pk: int) -> HttpResponse:
    form = form_or_404(pk)
    known = {field.alias for field in form.fields.all()}
    items = [
        (w, describe_condition(w), [f"{{{a}}}" for a in unknown_aliases(w, known)])
        for w in form.workflows.all()
    ]
    broken = sum(1 for _, _, missing in items if missing)
    return render(
        request,
        "forms/workflows.html",
        form_context(form, "workflows", items=items, broken=broken, kinds=Workflow.Kind.choices),
    )


def _editor_context(form, editor: WorkflowForm, kind: str, **extra: object) -> dict:  # noqa: ANN001
    return form_context(
        form,
        "workflows",
        editor=editor,
        kind=kind,
        kind_label=Workflow.Kind(kind).label,
        placeholders=[(f"{{{f.alias}}}", f.label) for f in form.fields.all()]
        + [(f"{{{name}}}", _RESERVED_HELP[name]) for name in RESERVED_NAMES],
        attachment_limit=ATTACHMENT_LIMIT_LABEL,
        **extra,
    )


_RESERVED_HELP = {
    "all_fields": "every answer, as a table",
    "form_name": "the form's name",
    "entry_id": "the entry's number",
    "entry_url": "a link to the entry in the backoffice",
    "submitted_at": "when it was sent (UTC)",
}


@editors
@require_http_methods(["GET", "POST"])
def workflow_add(request: HttpRequest, pk: int) -> HttpResponse:
    form = form_or_404(pk)
    kind = request.POST.get("kind") or request.GET.get("kind", "")
    if kind not in Workflow.Kind.values:
        messages.error(request, "Choose the kind of workflow to add.")
        return redirect("forms:workflows", pk=form.pk)
    instance = builder.new_workflow(form, kind, request.user)
    editor = WorkflowForm(
        request.POST if request.method == "POST" else None, instance=instance, form=form, kind=kind
    )
    if request.method == "POST" and editor.is_valid():
        workflow = editor.save(commit=False)
        workflow.position = builder.next_position(form.workflows)
        workflow.save()
        messages.success(request, f"Added the workflow “{workflow.name}”.")
        return redirect("forms:workflows", pk=form.pk)
    return render(request, "forms/workflow.html", _editor_context(form, editor, kind))


@editors
@require_http_methods(["GET", "POST"])
def workflow_edit(request: HttpRequest, pk: int, workflow_id: int) -> HttpResponse:
    form = form_or_404(pk)
    workflow = get_object_or_404(Workflow, pk=workflow_id, form=form)
    editor = WorkflowForm(request.POST or None, instance=workflow, form=form, kind=workflow.kind)
    if request.method == "POST" and editor.is_valid():
        editor.save()
        messages.success(request, f"Saved the workflow “{workflow.name}”.")
        return redirect("forms:workflows", pk=form.pk)
    known = {field.alias for field in form.fields.all()}
    missing = [f"{{{alias}}}" for alias in unknown_aliases(workflow, known)]
    return render(
        request,
        "forms/workflow.html",
        _editor_context(form, editor, workflow.kind, workflow=workflow, missing=missing),
    )


@editors
@require_POST
def workflow_move(request: HttpRequest, pk: int, workflow_id: int) -> HttpResponse:
    workflow = get_object_or_404(Workflow, pk=workflow_id, form_id=pk)
    builder.move(workflow, request.POST.get("direction", ""))
    return redirect("forms:workflows", pk=pk)


@editors
@require_POST
def workflow_delete(request: HttpRequest, pk: int, workflow_id: int) -> HttpResponse:
    workflow = get_object_or_404(Workflow, pk=workflow_id, form_id=pk)
    workflow.delete()
    messages.success(
        request,
        f"Removed the workflow “{workflow.name}”. Entries still show the emails it queued.",
    )
    return redirect("forms:workflows", pk=pk)
