from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from postroom.accounts.models import User


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"autofocus": True})
    )


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
