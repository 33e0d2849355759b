from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation

from postroom.accounts.models import User

MESSAGE_LIMIT = 2000


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email address", help_text="It becomes their user name.")
    name = forms.CharField(max_length=150, required=False, label="Name")
    role = forms.ChoiceField(
        choices=User.Role.choices,
        initial=User.Role.EDITOR,
        help_text="Editors work on forms and entries and can read the email log. "
        "Administrators can also change settings and manage users.",
    )
    message = forms.CharField(
        label="Message (optional)",
        required=False,
        max_length=MESSAGE_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Plain text, added to the invitation email.",
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        existing = User.objects.filter(email__iexact=email).first()
        if existing is not None:
            state = "an active" if existing.is_active else "a disabled"
            raise forms.ValidationError(
                f"{email} already has {state} account. Find it in the list of users instead."
            )
        return email


class PasswordPairForm(forms.Form):
    """A new password typed twice, checked against the password rules for ``user``."""

    password = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters.",
    )
    password_again = forms.CharField(
        label="New password, again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self) -> dict:
        data = super().clean()
        password, again = data.get("password"), data.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", "The two passwords differ. Type the same one twice.")
        elif password:
            candidate = User(email=self.user.email, name=data.get("name") or self.user.name)
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


class AcceptForm(PasswordPairForm):
    name = forms.CharField(max_length=150, required=False, label="Your name")
    field_order = ["name", "password", "password_again"]


class ForgotPasswordForm(forms.Form):
    email = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"autofocus": True})
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=User.Role.choices)


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
