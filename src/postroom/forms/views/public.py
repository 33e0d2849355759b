"""The public pages: the hosted form at /f/<slug>/, its thank-you page and its page token.

The form endpoint takes posts from its own page, from the embed snippet on any site (no
CSRF token: the anti-spam checks protect it instead) and from ``fetch`` with
``Accept: application/json``, whose answers only the form's listed origins may read.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt

from postroom.core import links
from postroom.core.requests import wants_json
from postroom.forms import cors, intake, spam
from postroom.forms.formdefs import HIDDEN_MAX, TOKEN, build_form, field_views
from postroom.forms.models import Field, Form

FILE_AGAIN = "Please choose the file again: files are not kept when the form has to be corrected."


def page(template: str, context: dict, status: int = 200) -> HttpResponse:
    """A public page: rendered without the backoffice's request context (user, navigation)."""
    return HttpResponse(render_to_string(template, context), status=status)


def public_context(form: Form, bound, token: str, **extra: object) -> dict[str, object]:  # noqa: ANN001
    views = field_views(bound)
    return {
        "form": form,
        "views": views,
        "invalid": [view for view in views if view.errors],
        "token": token,
        "multipart": any(d.kind == Field.Kind.FILE for d in bound.definitions),
        **extra,
    }


def _initial(form: Form, fields: list[Field], request: HttpRequest) -> dict[str, str]:
    """Hidden fields: their value, or ?alias=value from the page address."""
    initial = {}
    for field in fields:
        if field.kind == Field.Kind.HIDDEN:
            initial[field.alias] = request.GET.get(field.alias, field.default_value)[:HIDDEN_MAX]
    return initial


@csrf_exempt
def form_page(request: HttpRequest, slug: str) -> HttpResponse:
    form = get_object_or_404(Form, slug=slug)
    if request.method == "OPTIONS":
        return cors.preflight(form, request)
    if request.method in ("GET", "HEAD"):
        fields = list(form.fields.all())
        bound = build_form(fields, initial=_initial(form, fields, request))
        response = page("forms/public.html", public_context(form, bound, spam.issue_token(form)))
        add_never_cache_headers(response)  # the page token must be fresh
        return response
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST", "OPTIONS"])
    return cors.add_headers(_submit(request, form), form, request)


def _submit(request: HttpRequest, form: Form) -> HttpResponse:
    as_json = wants_json(request)
    if not form.is_open:
        return _refused(request, form, "This form is closed and no longer takes entries.", 403)
    if (
        as_json
        and cors.is_cross_origin(request)
        and not cors.is_allowed(form, cors.request_origin(request))
    ):
        spam.count_rejection(form, spam.Reason.ORIGIN)
        return _refused(request, form, "This site may not send this form by script.", 403)
    refusal = spam.too_large(form, request)
    if refusal is None:
        try:
            data, files = request.POST, request.FILES
        except RequestDataTooBig:
            refusal = spam.Refusal(
                spam.Reason.TOO_LARGE, spam.size_message(None, form.max_request_mb), 413
            )
        except (MultiPartParserError, SuspiciousOperation):
            return _refused(
                request, form, "The submission could not be read. Please send it again.", 400
            )
    if refusal is not None:
        spam.count_rejection(form, refusal.reason)
        return _refused(request, form, refusal.message, refusal.status)

    visitor = intake.Visitor(
        ip=spam.client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        referrer=request.headers.get("Referer", ""),
    )
    # Links in the entry's emails (uploads) never take the visitor's Host header.
    result = intake.receive(form, data, files, visitor, base_url=links.base_url_or_paths(request))
    if result.ok:
        return _success(request, form)
    if result.refusal and result.refusal.status != 400:
        return _refused(request, form, result.refusal.message, result.refusal.status)
    return _invalid(request, form, result, files)


def _success(request: HttpRequest, form: Form) -> HttpResponse:
    if wants_json(request):
        return JsonResponse(
            {"ok": True, "message": form.success_message, "redirect": form.redirect_url or None}
        )
    if form.redirect_url:
        return redirect(form.redirect_url)
    return redirect("forms:thanks", slug=form.slug)


def _invalid(request: HttpRequest, form: Form, result: intake.Result, files) -> HttpResponse:  # noqa: ANN001
    bound = result.form
    token = str(request.POST.get(TOKEN, ""))
    if result.refusal:  # missing, expired, too quick or used: a token that may be sent
        token = spam.reissue_token(form, token)
    if wants_json(request):
        errors = {name: [str(e) for e in errs] for name, errs in bound.errors.items()}
        if result.refusal:
            errors["__all__"] = [result.refusal.message]
        return JsonResponse({"ok": False, "errors": errors, "token": token}, status=400)
    views = field_views(bound)
    for view in views:
        if view.kind == Field.Kind.FILE and view.name in files and not view.errors:
            view.errors.append(FILE_AGAIN)
    notice = result.refusal.message if result.refusal else ""
    context = public_context(form, bound, token, notice=notice)
    context["views"] = views
    context["invalid"] = [view for view in views if view.errors]
    response = page("forms/public.html", context, status=400)
    add_never_cache_headers(response)
    return response


def _refused(request: HttpRequest, form: Form, message: str, status: int) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"ok": False, "errors": {"__all__": [message]}}, status=status)
    return page("forms/refused.html", {"form": form, "message": message}, status=status)


def thanks(request: HttpRequest, slug: str) -> HttpResponse:
    form = get_object_or_404(Form, slug=slug)
    return page("forms/thanks.html", {"form": form})


def token(request: HttpRequest, slug: str) -> HttpResponse:
    """A fresh page token for the embed snippet's script, on whatever site it is pasted."""
    form = get_object_or_404(Form, slug=slug)
    response = HttpResponse(spam.issue_token(form), content_type="text/plain; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    add_never_cache_headers(response)
    return response
