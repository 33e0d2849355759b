"""Backoffice screens for a form's entries: list, search, detail, delete, CSV, uploads, retry."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from postroom.core import links
from postroom.forms import export, uploads, workflows
from postroom.forms.formdefs import display_value
from postroom.forms.models import Entry, Field, Form, Upload, WorkflowRun
from postroom.forms.views.common import editors, form_context, form_or_404

PAGE_SIZE = 50
SEARCH_MAX_CHARS = 200
SEARCH_MAX_TERMS = 10
LIST_COLUMNS = 3


def search(form: Form, query: str) -> QuerySet[Entry]:
    entries = Entry.objects.filter(form=form)
    for term in query.casefold().split()[:SEARCH_MAX_TERMS]:
        entries = entries.filter(search_text__contains=term)
    return entries


def _runs() -> Prefetch:
    # The outbox row without its body: a message may be megabytes.
    return Prefetch(
        "runs", queryset=WorkflowRun.objects.select_related("message").defer("message__raw")
    )


@editors
@require_GET
def entry_list(request: HttpRequest, pk: int) -> HttpResponse:
    form = form_or_404(pk)
    query = request.GET.get("q", "")[:SEARCH_MAX_CHARS].strip()
    fields = [f for f in form.fields.all() if f.kind != Field.Kind.HIDDEN]
    columns = fields[:LIST_COLUMNS]
    entries = search(form, query).prefetch_related(_runs(), "uploads")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "entry": entry,
            "cells": [display_value(entry.values.get(f.alias, "")) for f in columns],
            "runs": list(entry.runs.all()),
            "files": len(entry.uploads.all()),
        }
        for entry in page
    ]
    return render(
        request,
        "forms/entries.html",
        form_context(
            form,
            "entries",
            page=page,
            rows=rows,
            columns=columns,
            query=query,
            page_prefix=f"q={query}&" if query else "",
        ),
    )


@editors
@require_GET
def entry_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    form = get_object_or_404(Form, pk=pk)
    query = request.GET.get("q", "")[:SEARCH_MAX_CHARS].strip()
    fields = list(form.fields.all())
    entries = search(form, query).order_by("created_at", "id").iterator(chunk_size=500)
    response = StreamingHttpResponse(
        export.csv_lines(fields, entries), content_type="text/csv; charset=utf-8"
    )
    name = f"{form.slug}-entries-{timezone.now():%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@editors
@require_GET
def entry_detail(request: HttpRequest, pk: int, entry_id: int) -> HttpResponse:
    form = form_or_404(pk)
    entry = get_object_or_404(
        Entry.objects.prefetch_related(_runs(), "uploads"), pk=entry_id, form=form
    )
    files: dict[str, list[Upload]] = {}
    for upload in entry.uploads.all():
        files.setdefault(upload.alias, []).append(upload)
    fields = list(form.fields.all())
    known = {f.alias for f in fields}
    answers = [
        {"label": f.label, "alias": f.alias, "value": display_value(entry.values.get(f.alias, "")),
         "files": files.get(f.alias, []), "missing": f.alias not in entry.values}
        for f in fields
    ] + [
        {"label": alias, "alias": alias, "value": display_value(value),
         "files": files.get(alias, []), "missing": False, "removed": True}
        for alias, value in entry.values.items() if alias not in known
    ]  # fmt: skip
    newer = Entry.objects.filter(form=form, pk__gt=entry.pk).order_by("pk").first()
    older = Entry.objects.filter(form=form, pk__lt=entry.pk).order_by("-pk").first()
    return render(
        request,
        "forms/entry.html",
        form_context(
            form,
            "entries",
            entry=entry,
            answers=answers,
            runs=list(entry.runs.all()),
            newer=newer,
            older=older,
        ),
    )


@editors
@require_POST
def entry_delete(request: HttpRequest, pk: int, entry_id: int) -> HttpResponse:
    entry = get_object_or_404(Entry, pk=entry_id, form_id=pk)
    number = entry.pk
    entry.delete()
    messages.success(request, f"Deleted entry #{number} and its uploaded files.")
    return redirect("forms:entries", pk=pk)


@editors
@require_GET
def upload_download(request: HttpRequest, pk: int, entry_id: int, upload_id: int) -> FileResponse:
    upload = get_object_or_404(Upload, pk=upload_id, entry_id=entry_id, entry__form_id=pk)
    try:
        handle = uploads.open_upload(upload.stored_name)
    except (OSError, ValueError):
        raise Http404("The file of this upload is missing from the upload storage.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=upload.original_name, content_type=upload.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


@editors
@require_http_methods(["POST"])
def run_retry(request: HttpRequest, pk: int, entry_id: int, run_id: int) -> HttpResponse:
    run = get_object_or_404(
        WorkflowRun.objects.select_related("message", "workflow", "entry__form"),
        pk=run_id,
        entry_id=entry_id,
        entry__form_id=pk,
    )
    level, text = workflows.retry(run, links.base_url_or_paths(request))
    getattr(messages, level)(request, f"{run.name}: {text}")
    return redirect("forms:entry", pk=pk, entry_id=entry_id)
