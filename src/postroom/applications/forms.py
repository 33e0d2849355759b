"""The Applications screen's forms."""

from __future__ import annotations

from datetime import timedelta

from django import forms

from postroom.applications.models import Application
from postroom.applications.rules import clean_networks, clean_senders

GRACE_CHOICES = [
    ("0", "Stop the old secret now"),
    ("3600", "1 hour"),
    ("86400", "24 hours"),
    ("604800", "7 days"),
]


class ApplicationForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="E.g. the site's name: Shop, Intranet.")
    allowed_senders = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One domain (example.org) or address (news@example.org) per line: the "
        "From addresses it may use. <code>*</code> allows any.",
    )
    client_networks = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional. One IP address or network per line (192.0.2.0/24); empty: any.",
    )
    trusted_network_no_login = forms.BooleanField(
        required=False,
        label="Trusted network, no login",
        help_text="Programs on this machine (loopback only) may relay for it without a "
        "username and secret.",
    )
    rate_limit_per_minute = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1_000_000,
        label="Rate limit (messages a minute)",
        help_text="Optional; empty: no limit.",
    )

    def __init__(self, *args, instance: Application | None = None, **kwargs) -> None:
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "allowed_senders": "\n".join(instance.allowed_senders),
                "client_networks": "\n".join(instance.client_networks),
                "trusted_network_no_login": instance.trusted_network_no_login,
                "rate_limit_per_minute": instance.rate_limit_per_minute,
            }
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = Application.objects.filter(name__iexact=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("Another application has this name.")
        return name

    def clean_allowed_senders(self) -> list[str]:
        try:
            senders = clean_senders(self.cleaned_data["allowed_senders"].splitlines())
        except ValueError as problem:
            raise forms.ValidationError(str(problem)) from None
        if not senders:
            raise forms.ValidationError("Give at least one domain or address.")
        return senders

    def clean_client_networks(self) -> list[str]:
        try:
            return clean_networks(self.cleaned_data["client_networks"].splitlines())
        except ValueError as problem:
            raise forms.ValidationError(str(problem)) from None


class RotateForm(forms.Form):
    grace = forms.TypedChoiceField(
        choices=GRACE_CHOICES,
        coerce=lambda seconds: timedelta(seconds=int(seconds)),
        label="The old secret keeps working for",
        initial="86400",
    )
