"""Labels for statuses and SMTP steps in the Health templates."""

from __future__ import annotations

from django import template

from postroom.health.probe import STEP_LABELS

register = template.Library()

STATUS_LABELS = {"success": "Passed", "info": "Info", "warning": "Warning", "error": "Failed"}
BANNERS = {"success": "success", "info": "info", "warning": "warning", "error": "error"}


@register.filter
def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


@register.filter
def step_label(step: str) -> str:
    return STEP_LABELS.get(step, step.capitalize())


@register.filter
def has_steps(results: list) -> bool:
    return any(getattr(result, "step", "") for result in results)


@register.filter
def seconds(ms: int | None) -> str:
    if ms is None:
        return ""
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"
