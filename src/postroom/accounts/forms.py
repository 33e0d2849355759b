from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest

from postroom.accounts import hashing, lockout
from postroom.accounts.models import User
from postroom.core.requests import client_address

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
    # Set once the administrator has seen that this replaces a waiting invitation.
    replace = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        existing = User.objects.filter(email__iexact=email).first()
        if existing is not None:
            state = "an active" if existing.is_active else "a disabled"
            raise forms.ValidationError(
                f"{email} already has {state} account. Find it in the list of users instead."
            )
        return email


def check_password_pair(form: forms.Form, data: dict, owner: User) -> None:
    """Adds ``form``'s errors for a new password typed twice (``password`` and
    ``password_again``): the two differ, or the password rules refuse it for ``owner``."""
    password, again = data.get("password"), data.get("password_again")
    if password and again and password != again:
        form.add_error("password_again", "The two passwords differ. Type the same one twice.")
    elif password:
        try:
            password_validation.validate_password(password, owner)
        except forms.ValidationError as error:
            form.add_error("password", error)


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
        owner = User(email=self.user.email, name=data.get("name") or self.user.name)
        check_password_pair(self, data, owner)
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


class LoginForm(AuthenticationForm):
    """Log in with the email address; failures from one address make it wait (see lockout)."""

    username = forms.EmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        # Email addresses are not case-sensitive here (they are lowered); passwords are.
        "invalid_login": (
            "Please enter a correct email address and password. The password is case-sensitive."
        ),
        "locked": (
            "This account is temporarily locked after too many failed logins from this network "
            "address. Try again in %(wait)s, after %(until)s UTC."
        ),
        "busy": (
            "The server is busy checking other logins. Nothing was counted: try again in a "
            "few seconds."
        ),
    }

    def __init__(self, request: HttpRequest | None = None, *args: object, **kwargs: object):
        super().__init__(request, *args, **kwargs)
        if not self.is_bound and request is not None and request.GET.get("email"):
            self.initial.setdefault("username", request.GET["email"][:254])

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()

    def clean(self) -> dict:
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not (email and password):
            return super().clean()
        address = client_address(self.request) if self.request else "unknown"
        waiting = lockout.wait_in_force(email, address)
        if waiting.locked:  # answered at once, without a slot: nothing to hash
            raise self._locked_error(waiting)
        try:
            # Taken before counting, so a "busy" answer costs the visitor no try.
            with hashing.password_check_slot():
                return self._check(email, address)
        except hashing.Busy:
            raise forms.ValidationError(self.error_messages["busy"], code="busy") from None

    def _check(self, email: str, address: str) -> dict:
        # Counted before the password is checked: past any budget, no hash is computed.
        before = lockout.begin_attempt(email, address)
        if before.locked:
            raise self._locked_error(before)
        try:
            data = super().clean()
        except forms.ValidationError:
            after = lockout.after_failure(email, address)
            if after.locked:
                raise self._locked_error(after) from None
            raise
        lockout.record_success(email, address)
        return data

    def _locked_error(self, state: lockout.LockState) -> forms.ValidationError:
        # The same for any address typed, account or not: it reveals nothing about accounts.
        return forms.ValidationError(
            self.error_messages["locked"],
            code="locked",
            params={"wait": state.wait_words, "until": _clock(state.locked_until)},
        )


def _clock(moment: datetime | None) -> str:
    """``14:05:30``: the UTC time to try again after, rounded up to the second."""
    if moment is None:
        return ""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime("%H:%M:%S")


class FirstAdministratorForm(forms.Form):
    name = forms.CharField(max_length=150, required=False, label="Your name")
    email = forms.EmailField(label="Email address")
    # Not stripped, as at login: a password chosen with a trailing space must still let you in.
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters.",
    )
    password_again = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        label="Password, again",
    )

    def clean(self) -> dict:
        data = super().clean()
        check_password_pair(
            self, data, User(email=data.get("email", ""), name=data.get("name", ""))
        )
        return data


class NameForm(forms.Form):
    name = forms.CharField(
        max_length=150, required=False, label="Your name", help_text="Shown to other users."
    )

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())


class ChangePasswordForm(PasswordPairForm):
    """The current password, then the new one twice: a session left open is not enough."""

    current_password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["current_password", "password", "password_again"]

    def clean_current_password(self) -> str:
        current = self.cleaned_data["current_password"]
        if not self.user.check_password(current):
            raise forms.ValidationError("This is not your current password. Type it again.")
        return current
