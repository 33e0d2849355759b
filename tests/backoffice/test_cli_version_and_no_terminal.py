"""`postroom --version` names Postroom; `createadmin` without a terminal says which flags to use."""

from __future__ import annotations

import io
import sys

import pytest
from django.core.management import CommandError, call_command

from postroom import __version__
from postroom.accounts.models import User


@pytest.mark.slow  # runs the console script in a new process
@pytest.mark.parametrize("args", [["--version"], ["serve", "--version"]])
def test_version_is_postroom_s_own(postroom_cli, args):
    result = postroom_cli(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Postroom {__version__}\n"


@pytest.mark.slow
def test_createadmin_without_a_terminal_names_the_flags_instead_of_a_traceback(postroom_cli):
    result = postroom_cli("createadmin")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "EOFError" not in result.stderr
    assert "--email ADDRESS" in result.stderr and "--password-from-env VAR" in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args", [[], ["--email", "ada@example.com"], ["--password-from-env", "ADMIN_PASSWORD"]]
)
def test_createadmin_asks_for_nothing_it_cannot_read(monkeypatch, args):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setenv("ADMIN_PASSWORD", "a-long-passphrase")
    with pytest.raises(CommandError, match="no terminal to ask") as raised:
        call_command("createadmin", *args)
    assert "--email ADDRESS" in str(raised.value)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_createadmin_with_both_flags_needs_no_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setenv("ADMIN_PASSWORD", "a-long-passphrase")
    call_command(
        "createadmin", "--email", "ada@example.com", "--password-from-env", "ADMIN_PASSWORD"
    )
    assert User.objects.get().email == "ada@example.com"
