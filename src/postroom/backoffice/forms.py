from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest

from postroom.accounts import lockout
from postroom.accounts.models import User


class LoginForm(AuthenticationForm):
    """Log in with the email address; too many failures lock the address for a while."""

    username = forms.EmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": "Too many failed attempts: try again later (in about %(wait)s).",
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
        before = lockout.state(email)
        if before.locked:  # the password is not even checked
            raise self._locked_error(before)
        try:
            data = super().clean()
        except forms.ValidationError:
            after = lockout.record_failure(email)
            if after.locked:
                raise self._locked_error(after) from None
            raise
        lockout.record_success(email)
        return data

    def _locked_error(self, state: lockout.LockState) -> forms.ValidationError:
        # The generic message first: the lock applies to any address, account or not.
        generic = self.get_invalid_login_error()
        minutes = state.minutes_left
        wait = f"{minutes} minute{'' if minutes == 1 else 's'}"
        locked = forms.ValidationError(
            self.error_messages["locked"], code="locked", params={"wait": wait}
        )
        return forms.ValidationError([generic, locked])


class FirstAdministratorForm(forms.Form):
    name = forms.CharField(max_length=150, required=False, label="Your name")
    email = forms.EmailField(label="Email address")
    password = forms.CharField(
        widget=forms.PasswordInput,
        help_text="At least 10 characters.",
    )
    password_again = forms.CharField(widget=forms.PasswordInput, label="Password, again")

    def clean(self) -> dict:
        data = super().clean()
        password, again = data.get("password"), data.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", "The two passwords differ. Type the same one twice.")
        elif password:
            candidate = User(email=data.get("email", ""), name=data.get("name", ""))
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


class TestEmailForm(forms.Form):
    to = forms.EmailField(label="Send a test email to")
