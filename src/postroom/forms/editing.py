"""Django forms for the backoffice screens that edit a form, its fields and its workflows.

Every check names the setting that is wrong and says how to fix it.
"""

from __future__ import annotations

import re

from django import forms
from django.db import models

from postroom.forms import builder, patterns
from postroom.forms.formdefs import CHOICE_KINDS, as_date, as_decimal, as_int
from postroom.forms.models import Field, Form, Workflow
from postroom.forms.placeholders import PLACEHOLDER
from postroom.forms.workflows import RESERVED_NAMES, single_address, split_addresses

Kind = Field.Kind
ORIGIN = re.compile(r"^https?://[^/\s?#]+$", re.IGNORECASE)
MAX_FILE_MB = 100
MAX_REQUEST_MB = 200


class NewFormForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name", help_text="e.g. Contact us")


def _https_urls(db_field, **kwargs):  # noqa: ANN001, ANN202 (a ModelForm formfield_callback)
    if isinstance(db_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class FormSettingsForm(forms.ModelForm):
    class Meta:
        model = Form
        formfield_callback = _https_urls
        fields = [
            "name",
            "slug",
            "is_open",
            "submit_label",
            "success_message",
            "redirect_url",
            "allowed_origins",
            "min_fill_seconds",
            "rate_limit",
            "rate_window_minutes",
            "max_request_mb",
        ]
        widgets = {
            "success_message": forms.Textarea(attrs={"rows": 3}),
            "allowed_origins": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_allowed_origins(self) -> str:
        lines = [
            line.strip().rstrip("/") for line in self.cleaned_data["allowed_origins"].splitlines()
        ]
        bad = [line for line in lines if line and not ORIGIN.match(line)]
        if bad:
            raise forms.ValidationError(
                f"“{bad[0]}” is not an origin. Write the scheme and host only, "
                "e.g. https://www.example.com (no path)."
            )
        return "\n".join(line for line in lines if line)

    def clean_min_fill_seconds(self) -> int:
        return _at_most(self.cleaned_data["min_fill_seconds"], 600, "seconds")

    def clean_rate_window_minutes(self) -> int:
        value = self.cleaned_data["rate_window_minutes"]
        if not 1 <= value <= 1440:
            raise forms.ValidationError("Choose a period from 1 to 1440 minutes (a day).")
        return value

    def clean_max_request_mb(self) -> int:
        value = self.cleaned_data["max_request_mb"]
        if not 1 <= value <= MAX_REQUEST_MB:
            raise forms.ValidationError(f"Choose from 1 to {MAX_REQUEST_MB} MB.")
        return value


def _at_most(value: int, limit: int, unit: str) -> int:
    if value > limit:
        raise forms.ValidationError(f"Choose at most {limit} {unit}.")
    return value


# -- fields ----------------------------------------------------------------------------------

COMMON = ["label", "alias", "required", "help_text"]
ATTRIBUTES: dict[str, list[str]] = {
    Kind.SHORT_TEXT: [*COMMON, "min_value", "max_value", "pattern"],
    Kind.LONG_TEXT: [*COMMON, "min_value", "max_value", "pattern"],
    Kind.EMAIL: COMMON,
    Kind.NUMBER: [*COMMON, "min_value", "max_value"],
    Kind.DATE: [*COMMON, "min_value", "max_value"],
    Kind.SINGLE_CHOICE: [*COMMON, "choices"],
    Kind.MULTIPLE_CHOICE: [*COMMON, "choices", "min_value", "max_value"],
    Kind.CHECKBOX: COMMON,
    Kind.FILE: [*COMMON, "allowed_types", "max_file_mb"],
    Kind.HIDDEN: ["label", "alias", "default_value"],
}
BOUND_LABELS: dict[str, tuple[str, str]] = {
    Kind.SHORT_TEXT: ("Shortest answer (characters)", "Longest answer (characters)"),
    Kind.LONG_TEXT: ("Shortest answer (characters)", "Longest answer (characters)"),
    Kind.NUMBER: ("Smallest number", "Largest number"),
    Kind.DATE: ("Earliest date (YYYY-MM-DD)", "Latest date (YYYY-MM-DD)"),
    Kind.MULTIPLE_CHOICE: ("Choose at least", "Choose at most"),
}


class FieldForm(forms.ModelForm):
    class Meta:
        model = Field
        fields = [
            "label",
            "alias",
            "required",
            "help_text",
            "choices",
            "min_value",
            "max_value",
            "pattern",
            "allowed_types",
            "max_file_mb",
            "default_value",
        ]
        widgets = {"choices": forms.Textarea(attrs={"rows": 5})}
        labels = {"required": "Required"}

    def __init__(self, *args: object, kind: str, form: Form, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.parent = form
        self.instance.kind = kind
        self.instance.form = form
        for name in list(self.fields):
            if name not in ATTRIBUTES[kind]:
                del self.fields[name]
        self.fields["alias"].required = False
        if kind in BOUND_LABELS:
            low, high = BOUND_LABELS[kind]
            self.fields["min_value"].label, self.fields["max_value"].label = low, high
        if kind == Kind.CHECKBOX:
            self.fields["required"].help_text = "The box must be ticked, e.g. to accept terms."
        if kind == Kind.FILE:
            self.fields["max_file_mb"].help_text = f"At most {MAX_FILE_MB} MB."

    def clean_alias(self) -> str:
        alias = self.cleaned_data.get("alias", "").strip()
        label = self.cleaned_data.get("label") or self.data.get("label", "")
        siblings = Field.objects.filter(form=self.parent).exclude(pk=self.instance.pk)
        taken = set(siblings.values_list("alias", flat=True))
        if not alias:
            return builder.derive_alias(str(label), taken)
        problem = builder.alias_problem(alias)
        if problem:
            raise forms.ValidationError(problem)
        if alias in taken:
            raise forms.ValidationError(
                f"Another field of this form already has the alias “{alias}”; choose another."
            )
        return alias

    def clean_pattern(self) -> str:
        pattern = self.cleaned_data.get("pattern", "")
        reason = patterns.problem(pattern)
        if reason:
            label = self.cleaned_data.get("label") or self.data.get("label") or "this field"
            raise forms.ValidationError(f"The pattern of “{label}” cannot be used: {reason}.")
        return pattern

    def clean_choices(self) -> str:
        lines = [line.strip() for line in self.cleaned_data.get("choices", "").splitlines()]
        lines = [line for line in lines if line]
        if self.kind in CHOICE_KINDS and not lines:
            raise forms.ValidationError("Add at least one choice, one per line.")
        return "\n".join(lines)

    def clean_allowed_types(self) -> str:
        text = self.cleaned_data.get("allowed_types", "")
        types = [t.strip().lower().lstrip(".") for t in re.split(r"[,;\s]+", text) if t.strip()]
        bad = [t for t in types if not re.fullmatch(r"[a-z0-9]{1,10}", t)]
        if bad:
            raise forms.ValidationError(
                f"“{bad[0]}” is not a file name extension; write e.g. pdf, jpg, png."
            )
        return ", ".join(dict.fromkeys(types))

    def clean_max_file_mb(self) -> int:
        value = self.cleaned_data.get("max_file_mb") or 0
        if not 1 <= value <= MAX_FILE_MB:
            raise forms.ValidationError(f"Choose from 1 to {MAX_FILE_MB} MB.")
        return value

    def clean(self) -> dict:
        data = super().clean()
        low, high = data.get("min_value", ""), data.get("max_value", "")
        parse = _BOUND_PARSERS.get(self.kind)
        if parse is None:
            return data
        parsed = {}
        for name, text in (("min_value", low), ("max_value", high)):
            if text and text.strip():
                value = parse[0](text)
                if value is None or (isinstance(value, int) and value < 0):
                    self.add_error(name, parse[1])
                else:
                    parsed[name] = value
        if len(parsed) == 2 and parsed["min_value"] > parsed["max_value"]:
            self.add_error("max_value", "The maximum is smaller than the minimum.")
        return data


_BOUND_PARSERS = {
    Kind.SHORT_TEXT: (as_int, "Enter a whole number of characters, e.g. 10."),
    Kind.LONG_TEXT: (as_int, "Enter a whole number of characters, e.g. 500."),
    Kind.NUMBER: (as_decimal, "Enter a number, e.g. 0 or 99.5."),
    Kind.DATE: (as_date, "Enter a date as YYYY-MM-DD, e.g. 2025-01-31."),
    Kind.MULTIPLE_CHOICE: (as_int, "Enter a whole number of choices, e.g. 1."),
}


# -- workflows -------------------------------------------------------------------------------

EMAIL_FIELDS = ["name", "enabled", "to", "cc", "bcc", "sender", "reply_to", "subject", "message",
                "send_html", "attach_uploads", "condition_field", "condition_operator",
                "condition_value"]  # fmt: skip
CONFIRMATION_FIELDS = ["name", "enabled", "to_field", "sender", "reply_to", "subject", "message",
                       "send_html", "condition_field", "condition_operator",
                       "condition_value"]  # fmt: skip


class WorkflowForm(forms.ModelForm):
    class Meta:
        model = Workflow
        fields = EMAIL_FIELDS + ["to_field"]
        widgets = {
            "to": forms.TextInput(),
            "cc": forms.TextInput(),
            "bcc": forms.TextInput(),
            "message": forms.Textarea(attrs={"rows": 8}),
        }
        labels = {"condition_operator": "Test", "condition_value": "Value", "enabled": "Active"}

    def __init__(self, *args: object, form: Form, kind: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.parent = form
        self.kind = kind
        self.instance.form = form
        self.instance.kind = kind
        wanted = CONFIRMATION_FIELDS if kind == Workflow.Kind.CONFIRMATION else EMAIL_FIELDS
        for name in list(self.fields):
            if name not in wanted:
                del self.fields[name]
        fields = list(form.fields.all())
        self.aliases = {f.alias for f in fields}
        self.fields["condition_field"] = forms.ChoiceField(
            label="Only when",
            required=False,
            choices=[("", "Always (every entry)")] + [(f.alias, f.label) for f in fields],
        )
        self.fields["condition_operator"].required = False
        if "to_field" in self.fields:
            email_fields = [(f.alias, f.label) for f in fields if f.kind == Kind.EMAIL]
            self.fields["to_field"] = forms.ChoiceField(
                label="Send to the address in",
                choices=email_fields or [("", "(the form has no email field)")],
                help_text="The visitor's answer to this email field.",
            )

    def _addresses(self, name: str) -> str:
        text = self.cleaned_data.get(name, "")
        valid, invalid = split_addresses(text)
        if invalid:
            raise forms.ValidationError(
                f"“{invalid[0]}” is not a valid email address. "
                "Separate several addresses with ; or ,"
            )
        return ", ".join(valid)

    def clean_to(self) -> str:
        return self._addresses("to")

    def clean_cc(self) -> str:
        return self._addresses("cc")

    def clean_bcc(self) -> str:
        return self._addresses("bcc")

    def clean_condition_operator(self) -> str:
        return self.cleaned_data.get("condition_operator") or Workflow.Operator.EQUALS

    def clean_to_field(self) -> str:
        value = self.cleaned_data.get("to_field", "")
        if not value:
            raise forms.ValidationError("Add an Email field to the form first.")
        return value

    def clean_sender(self) -> str:
        sender = self.cleaned_data.get("sender", "").strip()
        if sender and not single_address(sender):
            raise forms.ValidationError(
                "Enter one email address, e.g. website@example.com or "
                "Website <website@example.com>, or leave it empty to use the SMTP From."
            )
        return sender

    def clean_reply_to(self) -> str:
        value = self.cleaned_data.get("reply_to", "").strip()
        if not value:
            return value
        self._known_placeholders(value)
        if not PLACEHOLDER.search(value) and not single_address(value):
            raise forms.ValidationError("Enter one email address or a field such as {email}.")
        return value

    def clean_subject(self) -> str:
        value = self.cleaned_data.get("subject", "")
        self._known_placeholders(value)
        return value

    def clean_message(self) -> str:
        value = self.cleaned_data.get("message", "")
        self._known_placeholders(value)
        return value

    def _known_placeholders(self, text: str) -> None:
        unknown = [
            name
            for name in PLACEHOLDER.findall(text)
            if name not in self.aliases and name not in RESERVED_NAMES
        ]
        if unknown:
            known = ", ".join(f"{{{a}}}" for a in sorted(self.aliases) + list(RESERVED_NAMES))
            raise forms.ValidationError(
                f"The form has no field with the alias “{unknown[0]}”. You can use: {known}."
            )

    def clean(self) -> dict:
        data = super().clean()
        no_recipient = not (data.get("to") or data.get("cc") or data.get("bcc"))
        if self.kind == Workflow.Kind.SEND_EMAIL and not self.errors and no_recipient:
            self.add_error("to", "Enter at least one recipient.")
        if data.get("condition_field") and not str(data.get("condition_value", "")).strip():
            self.add_error("condition_value", "Enter the value to compare with.")
        self._rename_default(data)
        return data

    def _rename_default(self, data: dict) -> None:
        """A workflow still named after its old recipients ("Email ada@example.com") is named
        after the new ones; a name somebody chose, or changes in this save, is kept."""
        old_name, old_to = self.initial.get("name"), self.initial.get("to")
        new_to = data.get("to")
        if not (self.instance.pk and old_name and new_to and new_to != old_to):
            return
        if data.get("name") == old_name == builder.default_workflow_name(old_to or ""):
            data["name"] = builder.default_workflow_name(new_to)
