"""The Health screens: run checks, see results, try SMTP settings; and the JSON endpoint."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST

from postroom import runtime
from postroom.config import current_smtp_settings
from postroom.core import throttle
from postroom.core.permissions import administrator_required
from postroom.core.requests import INBOX_PORT_ENVIRON, wants_json
from postroom.delivery.routing import inbox_port_in_effect
from postroom.health import config, report
from postroom.health.checks.smtp import server_results
from postroom.health.registry import (
    ERROR,
    GROUPS,
    ActionRefused,
    Check,
    all_checks,
    get_check,
    group_name,
    select,
)
from postroom.health.runner import CheckRun, as_json, counts, overall, run_checks, summary
from postroom.health.trysettings import (
    PRESETS,
    TrySettingsForm,
    initial_values,
    presets_data,
    snippets,
)


def json_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like login_required, but a client that asks for JSON gets a JSON 401, not a redirect."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if wants_json(request, unless_html=True):
            return JsonResponse(
                {"error": "Log in first: this endpoint needs a backoffice session."}, status=401
            )
        return redirect_to_login(request.get_full_path())

    return wrapper


def _selection(data: Any) -> tuple[list[Check], str, str | None]:
    """The checks that ``group``/``check`` parameters ask for, a title, and an error."""
    check_id = str(data.get("check", "")).strip()
    group_text = str(data.get("group", "")).strip()
    if check_id:
        check = get_check(check_id)
        if check is None:
            known = ", ".join(c.id for c in all_checks())
            return [], "", f"There is no check “{check_id[:60]}”. Known checks: {known}."
        return [check], check.name, None
    if group_text:
        group = group_name(group_text)
        if group is None:
            return [], "", f"There is no group “{group_text[:60]}”. Groups: {', '.join(GROUPS)}."
        return select(group=group), f"{group} checks", None
    return all_checks(), "All checks", None


def _page(
    request: HttpRequest, runs: list[CheckRun], title: str = "", status: int = 200
) -> HttpResponse:
    by_id = {run.check.id: run for run in runs}
    groups = []
    for group in GROUPS:
        items = [
            {"check": check, "run": by_id.get(check.id)}
            for check in all_checks()
            if check.group == group
        ]
        if items:
            groups.append({"name": group, "items": items})
    report_config = config.report_config()
    context = {
        "groups": groups,
        "runs": runs,
        "ran_title": title,
        "overall": overall(runs) if runs else None,
        "summary": summary(runs) if runs else "",
        "counts": counts(runs) if runs else {},
        "report": report_config,
        "report_last": throttle.last_time(report.THROTTLE_KEY) if report_config.enabled else None,
        "environment": runtime.environment_name(),
        "timeout": config.timeout_seconds(),
    }
    return render(request, "health/index.html", context, status=status)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    return _page(request, [])


@login_required
@require_http_methods(["GET", "POST"])
def run(request: HttpRequest) -> HttpResponse:
    """Run all checks, a group (``group``) or one check (``check``); GET or POST (with CSRF)."""
    data = request.POST if request.method == "POST" else request.GET
    checks, title, error = _selection(data)
    if error:
        messages.error(request, error)
        return _page(request, [], status=400)
    if request.method == "POST":
        # Post/redirect/get: a reload runs the checks again without re-posting, and the
        # browser lands on the check (or group) that was asked for, not the top of the page.
        return redirect(_results_url(data))
    with inbox_port_in_effect(request.META.get(INBOX_PORT_ENVIRON)):
        runs = run_checks(checks)
    return _page(request, runs, title)


def _results_url(data: Any) -> str:
    check_id = str(data.get("check", "")).strip()
    group = group_name(str(data.get("group", "")).strip())
    url = reverse("health:run")
    if check_id:
        return f"{url}?{urlencode({'check': check_id})}#check-{check_id}"
    if group:
        return f"{url}?{urlencode({'group': group})}#group-{slugify(group)}"
    return url


@json_login_required
@require_http_methods(["GET"])
def checks_json(request: HttpRequest) -> HttpResponse:
    checks, _title, error = _selection(request.GET)
    if error:
        return JsonResponse({"error": error}, status=400)
    with inbox_port_in_effect(request.META.get(INBOX_PORT_ENVIRON)):
        runs = run_checks(checks)
    return JsonResponse(as_json(runs), json_dumps_params={"indent": 2})


@administrator_required(reason="Only administrators can run a check's actions.")
@require_POST
def action(request: HttpRequest, check_id: str, action_id: str) -> HttpResponse:
    back = reverse("health:index") + f"#check-{check_id}"
    check = get_check(check_id)
    chosen = next((a for a in check.actions if a.id == action_id), None) if check else None
    if chosen is None:
        messages.error(request, "That action does not exist (any more); nothing was done.")
        return redirect(back)
    try:
        target = chosen.run(request.user, request.POST)
    except ActionRefused as refused:
        messages.error(request, str(refused))
        return redirect(back)
    return redirect(target)


@login_required
def help_page(request: HttpRequest) -> HttpResponse:
    return render(request, "health/help.html", {"checks": all_checks(), "groups": GROUPS})


@administrator_required(
    reason="Only administrators can try SMTP settings: the check uses the password typed."
)
@require_http_methods(["GET", "POST"])
def try_settings(request: HttpRequest) -> HttpResponse:
    preset_key = request.GET.get("preset")
    initial, preset = initial_values(preset_key)
    results = None
    found = None
    if request.method == "POST":
        form = TrySettingsForm(request.POST)
        if form.is_valid():
            smtp = form.settings()
            results = [form.described(), *server_results(smtp, use_cache=False)]
            if not any(result.status == ERROR for result in results):
                used_tls = any(r.step == "tls" and r.status == "success" for r in results)
                found = snippets(smtp, used_tls)
    else:
        form = TrySettingsForm(initial=initial)
        if preset_key and preset is None:
            messages.error(
                request, f"There is no preset “{preset_key[:40]}”; pick one from the list."
            )
    return render(
        request,
        "health/try_settings.html",
        {
            "form": form,
            "presets": PRESETS,
            "preset": preset,
            "presets_data": presets_data(),
            "results": results,
            "passed": results is not None and found is not None,
            "snippets": found,
            "ca_file": current_smtp_settings().ca_file.value,
        },
    )
