"""Backoffice screens: the list of forms, and building one (fields, settings, preview, embed)."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from postroom.forms import builder, patterns, references
from postroom.forms.editing import FieldForm, FormSettingsForm, NewFormForm
from postroom.forms.formdefs import build_form
from postroom.forms.models import Field, Form, WorkflowRun
from postroom.forms.views.common import editors, form_context, form_or_404
from postroom.forms.views.public import public_context

PAGE_SIZE = 25
SETTINGS_GROUPS = (
    ("The page", ("name", "slug", "is_open", "submit_label")),
    ("After sending", ("success_message", "redirect_url")),
    ("Against robots and floods", ("min_fill_seconds", "rate_limit", "rate_window_minutes",
                                   "max_request_mb")),
    ("Other sites", ("allowed_origins",)),
)  # fmt: skip
SEARCH_MAX_CHARS = 200


@editors
@require_GET
def form_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:SEARCH_MAX_CHARS].strip()
    rows = Form.objects.annotate(
        entry_count=Count("entries"), last_entry=Max("entries__created_at")
    ).order_by("name", "id")
    for term in query.split()[:10]:
        rows = rows.filter(Q(name__icontains=term) | Q(slug__icontains=term))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    failed = dict(
        WorkflowRun.objects.filter(entry__form__in=[f.pk for f in page], message__status="failed")
        .values_list("entry__form")
        .annotate(n=Count("id"))
    )
    for row in page:
        row.failed_count = failed.get(row.pk, 0)
    return render(
        request,
        "forms/list.html",
        {
            "page": page,
            "query": query,
            "page_prefix": f"q={query}&" if query else "",
            "any_forms": bool(query) or page.paginator.count > 0,
        },
    )


@editors
@require_http_methods(["GET", "POST"])
def form_create(request: HttpRequest) -> HttpResponse:
    new = NewFormForm(request.POST or None)
    if request.method == "POST" and new.is_valid():
        form = builder.create_form(new.cleaned_data["name"], request.user)
        messages.success(
            request,
            f"Created “{form.name}” with name, email and message fields, and a workflow that "
            f"emails each entry to {request.user.email}. Change anything below.",
        )
        return redirect("forms:build", pk=form.pk)
    return render(request, "forms/create.html", {"new": new})


@editors
@require_GET
def form_build(request: HttpRequest, pk: int) -> HttpResponse:
    form = form_or_404(pk)
    fields = list(form.fields.all())
    workflows = list(form.workflows.all())
    for field in fields:  # a field some workflow uses is removed through a page that says so
        field.used_by = [w for w in workflows if field.alias in references.aliases_used(w)]
    return render(
        request,
        "forms/build.html",
        form_context(
            form,
            "build",
            fields=fields,
            kinds=Field.Kind.choices,
            unsafe_patterns=_unsafe_patterns(fields),
        ),
    )


def _unsafe_patterns(fields: list[Field]) -> list[tuple[Field, str]]:
    """Fields saved with a pattern that cannot be run safely; it is not applied to answers."""
    return [(field, reason) for field in fields if (reason := patterns.problem(field.pattern))]


@editors
@require_http_methods(["GET", "POST"])
@xframe_options_sameorigin
def form_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The public page as a visitor sees it; a POST previews unsaved changes to one field."""
    form = get_object_or_404(Form, pk=pk)
    fields = list(form.fields.all())
    if request.method == "POST":
        fields = _with_draft(form, fields, request.POST)
    bound = build_form(fields, initial={f.alias: f.default_value for f in fields})
    context = public_context(form, bound, "", preview=True)
    return render(request, "forms/public.html", context)


def _with_draft(form: Form, fields: list[Field], data) -> list[Field]:  # noqa: ANN001
    """``fields`` with the field being edited replaced by its unsaved state (or added)."""
    field_id = data.get("field_id", "")
    original = next((f for f in fields if str(f.pk) == field_id), None)
    kind = original.kind if original else data.get("kind", "")
    if kind not in Field.Kind.values:
        return fields
    draft = copy.copy(original) if original else Field(form=form, kind=kind)
    editor = FieldForm(data, instance=draft, kind=kind, form=form)
    editor.is_valid()  # the valid attributes are set on the draft, the others keep their value
    draft = editor.instance
    draft.is_draft = True  # marked in the preview, which scrolls to it
    draft.alias = draft.alias or "draft_field"
    draft.label = draft.label or "(no label yet)"
    if original:
        return [draft if f.pk == original.pk else f for f in fields]
    return [*fields, draft]


@editors
@require_http_methods(["GET", "POST"])
def form_settings(request: HttpRequest, pk: int) -> HttpResponse:
    form = form_or_404(pk)
    editor = FormSettingsForm(request.POST or None, instance=form)
    if request.method == "POST" and editor.is_valid():
        editor.save()
        messages.success(request, "Settings saved.")
        return redirect("forms:settings", pk=form.pk)
    groups = [(title, [editor[name] for name in names]) for title, names in SETTINGS_GROUPS]
    return render(
        request, "forms/settings.html", form_context(form, "settings", editor=editor, groups=groups)
    )


@editors
@require_GET
def form_embed(request: HttpRequest, pk: int) -> HttpResponse:
    form = form_or_404(pk)
    base = f"{request.scheme}://{request.get_host()}"
    fields = list(form.fields.all())
    bound = build_form(fields, initial={f.alias: f.default_value for f in fields})
    context = public_context(form, bound, "", base=base, id_prefix=f"pr-{form.slug}")
    snippet = render_to_string("forms/snippet.html", context).strip()
    snippet = "\n".join(line.rstrip() for line in snippet.splitlines() if line.strip())
    return render(
        request,
        "forms/embed.html",
        form_context(
            form,
            "embed",
            snippet=snippet,
            public_url=f"{base}{form.public_path()}",
            example_origin=(form.origins or ["https://www.example.com"])[0],
        ),
    )


@editors
@require_POST
def form_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    form = get_object_or_404(Form, pk=pk)
    copy_ = builder.duplicate_form(form, request.user)
    messages.success(
        request,
        f"Copied “{form.name}” with its fields and workflows (not its entries). "
        f"The copy is at {copy_.public_path()}.",
    )
    return redirect("forms:build", pk=copy_.pk)


@editors
@require_http_methods(["GET", "POST"])
def form_delete(request: HttpRequest, pk: int) -> HttpResponse:
    form = form_or_404(pk)
    if request.method == "POST":
        name = form.name
        form.delete()
        messages.success(request, f"Deleted the form “{name}” and its entries.")
        return redirect("forms:list")
    return render(request, "forms/delete.html", form_context(form, "settings"))


# -- fields ----------------------------------------------------------------------------------


@editors
@require_http_methods(["GET", "POST"])
def field_add(request: HttpRequest, pk: int) -> HttpResponse:
    form = form_or_404(pk)
    kind = request.POST.get("kind") or request.GET.get("kind", "")
    if kind not in Field.Kind.values:
        messages.error(request, "Choose the type of field to add.")
        return redirect("forms:build", pk=form.pk)
    editor = FieldForm(
        request.POST if request.method == "POST" else None,
        instance=Field(form=form, kind=kind),
        kind=kind,
        form=form,
    )
    if request.method == "POST" and editor.is_valid():
        field = editor.save(commit=False)
        field.position = builder.next_position(form.fields)
        field.save()
        messages.success(request, f"Added “{field.label}”; use it in emails as {{{field.alias}}}.")
        return redirect("forms:build", pk=form.pk)
    return render(
        request,
        "forms/field.html",
        form_context(form, "build", editor=editor, kind=kind, kind_label=Field.Kind(kind).label),
    )


@editors
@require_http_methods(["GET", "POST"])
def field_edit(request: HttpRequest, pk: int, field_id: int) -> HttpResponse:
    form = form_or_404(pk)
    field = get_object_or_404(Field, pk=field_id, form=form)
    old_alias = field.alias
    editor = FieldForm(request.POST or None, instance=field, kind=field.kind, form=form)
    if request.method == "POST" and editor.is_valid():
        field = editor.save()
        text = f"Saved “{field.label}”."
        if field.alias != old_alias:
            changed = builder.rename_alias(form, old_alias, field.alias)
            if changed:
                text += f" {{{old_alias}}} is now {{{field.alias}}} in {changed} workflow(s)."
        messages.success(request, text)
        return redirect("forms:build", pk=form.pk)
    return render(
        request,
        "forms/field.html",
        form_context(
            form,
            "build",
            editor=editor,
            field=field,
            unsafe_patterns=_unsafe_patterns([field]) if request.method == "GET" else [],
            kind=field.kind,
            kind_label=field.get_kind_display(),
        ),
    )


@editors
@require_POST
def field_move(request: HttpRequest, pk: int, field_id: int) -> HttpResponse:
    field = get_object_or_404(Field, pk=field_id, form_id=pk)
    builder.move(field, request.POST.get("direction", ""))
    return redirect(f"{_build_url(pk)}#field-{field.pk}")


@editors
@require_http_methods(["GET", "POST"])
def field_delete(request: HttpRequest, pk: int, field_id: int) -> HttpResponse:
    """Removes a field; when workflows use its alias, a page names them and asks first."""
    field = get_object_or_404(Field, pk=field_id, form_id=pk)
    using = references.workflows_using(field.form, field.alias)
    if request.method == "GET" or (using and request.POST.get("confirmed") != "yes"):
        return render(
            request,
            "forms/field_delete.html",
            form_context(form_or_404(pk), "build", field=field, using=using),
        )
    field.delete()
    done = f"Removed “{field.label}”. Entries keep the answers they already had."
    if not using:
        messages.success(request, done)
        return redirect("forms:build", pk=pk)
    names = ", ".join(f"“{workflow.name}”" for workflow in using)
    messages.warning(
        request,
        f"{done} {{{field.alias}}} is now blank in {names}: edit "
        f"{'it' if len(using) == 1 else 'them'} on the Workflows tab.",
    )
    return redirect("forms:workflows", pk=pk)


def _build_url(pk: int) -> str:
    return reverse("forms:build", args=[pk])
