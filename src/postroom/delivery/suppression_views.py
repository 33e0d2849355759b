"""The suppression list screen (administrators): search, add, remove with a note, CSV in and out."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.http import require_GET, require_POST

from postroom.core.permissions import administrator_required
from postroom.delivery import suppression_csv
from postroom.delivery.models import Suppression, SuppressionReason, SuppressionRemoval
from postroom.delivery.suppression import (
    InvalidAddress,
    is_suppressed,
    normalise,
    suppress,
    unsuppress,
)

PAGE_SIZE = 50
SEARCH_MAX_CHARS = 200
NOTE_MAX_CHARS = 1000
REMOVALS_SHOWN = 10

administrators = administrator_required(
    reason="Only administrators can see and change the suppression list."
)


class AddForm(forms.Form):
    address = forms.CharField(max_length=320, widget=forms.TextInput(attrs={"type": "email"}))
    note = forms.CharField(max_length=NOTE_MAX_CHARS, required=False)

    def clean_address(self) -> str:
        try:
            return normalise(self.cleaned_data["address"])
        except InvalidAddress as error:
            raise forms.ValidationError(str(error)) from None


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV file")


def _search(query: str):
    entries = Suppression.objects.all()
    for term in query.split()[:10]:
        entries = entries.filter(Q(key__icontains=term) | Q(note__icontains=term))
    return entries


@administrators
@require_GET
def suppression_list(request: HttpRequest) -> HttpResponse:
    return _render(request, AddForm(), ImportForm())


def _render(
    request: HttpRequest, add_form: AddForm, import_form: ImportForm, status: int = 200
) -> HttpResponse:
    query = request.GET.get("q", "")[:SEARCH_MAX_CHARS].strip()
    reason = request.GET.get("reason", "")
    entries = _search(query)
    if reason in SuppressionReason.values:
        entries = entries.filter(reason=reason)
    else:
        reason = ""
    page = Paginator(entries.select_related("message"), PAGE_SIZE).get_page(request.GET.get("page"))
    params = {k: v for k, v in (("q", query), ("reason", reason)) if v}
    context = {
        "page": page,
        "query": query,
        "reason": reason,
        "reasons": SuppressionReason.choices,
        "page_prefix": f"{urlencode(params)}&" if params else "",
        "export_query": f"?{urlencode(params)}" if params else "",
        "add_form": add_form,
        "import_form": import_form,
        "removals": SuppressionRemoval.objects.all()[:REMOVALS_SHOWN],
        "total": Suppression.objects.count(),
    }
    return render(request, "delivery/suppressions.html", context, status=status)


@administrators
@require_POST
def suppression_add(request: HttpRequest) -> HttpResponse:
    form = AddForm(request.POST)
    if not form.is_valid():
        return _render(request, form, ImportForm(), status=400)
    address = form.cleaned_data["address"]
    if is_suppressed(address):
        messages.info(request, f"{address} is already on the suppression list.")
        return redirect("suppressions:list")
    suppress(address, SuppressionReason.MANUAL, source=_by(request), note=form.cleaned_data["note"])
    messages.success(request, f"Added {address}: Postroom no longer sends mail to it.")
    return redirect("suppressions:list")


@administrators
@require_POST
def suppression_remove(request: HttpRequest) -> HttpResponse:
    address = request.POST.get("address", "")[:320]
    note = request.POST.get("note", "")[:NOTE_MAX_CHARS].strip()
    try:
        removed = unsuppress(address, note, removed_by=_by(request))
    except InvalidAddress as error:
        removed, problem = None, str(error)
    else:
        problem = f"{address} is not on the suppression list." if removed is None else ""
    if removed is None:
        messages.error(request, f"Nothing removed. {problem}")
    else:
        messages.success(request, f"Removed {removed.address}: mail to it is sent again.")
    return redirect(_back(request))


@administrators
@require_POST
def suppression_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, AddForm(), form, status=400)
    upload = form.cleaned_data["file"]
    if upload.size > suppression_csv.MAX_IMPORT_BYTES:
        form.add_error("file", "The file is larger than 5 MB: split it.")
        return _render(request, AddForm(), form, status=400)
    try:
        result = suppression_csv.import_csv(
            upload.read(), source=_by(request), note=f"Imported from {upload.name[:100]}"
        )
    except suppression_csv.ImportRefused as error:
        form.add_error("file", str(error))
        return _render(request, AddForm(), form, status=400)
    messages.success(request, result.summary())
    for problem in result.problems:
        messages.warning(request, problem)
    return redirect("suppressions:list")


@administrators
@require_GET
def suppression_export(request: HttpRequest) -> StreamingHttpResponse:
    query = request.GET.get("q", "")[:SEARCH_MAX_CHARS].strip()
    entries = _search(query)
    if request.GET.get("reason") in SuppressionReason.values:
        entries = entries.filter(reason=request.GET["reason"])
    rows = entries.order_by("created_at", "id").iterator(chunk_size=500)
    response = StreamingHttpResponse(
        suppression_csv.csv_lines(rows), content_type="text/csv; charset=utf-8"
    )
    name = f"suppressions-{timezone.now():%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _by(request: HttpRequest) -> str:
    user = request.user
    return f"backoffice: {getattr(user, 'email', '') or user.get_username()}"[:40]


def _back(request: HttpRequest) -> str:
    """The list page the form was on (search and page kept), never another site."""
    kept = QueryDict(request.POST.get("back", "")[:500])
    params = {name: kept[name] for name in ("q", "reason", "page") if kept.get(name)}
    return reverse("suppressions:list") + (f"?{urlencode(params)}" if params else "")
