"""The command line speaks Postroom: its own options, plain errors, the ports in force."""

import pytest

pytestmark = pytest.mark.slow  # each runs the console script in a new process


def test_help_for_a_command_shows_postrooms_options_not_djangos(postroom_cli):
    result = postroom_cli("help", "serve")
    assert result.returncode == 0, result.stderr
    assert "--inbox-port" in result.stdout
    django_options = ("--settings", "--pythonpath", "--traceback", "--no-color", "--skip-checks")
    for django_option in django_options:
        assert django_option not in result.stdout


def test_a_command_error_prints_once_without_the_exception_name(postroom_cli):
    result = postroom_cli("sendtest", "not-an-address")
    assert result.returncode == 1
    assert (
        result.stderr.strip() == "postroom sendtest: 'not-an-address' is not a valid email address."
    )


def test_help_shows_the_ports_in_force_and_config_alone_lists_its_subcommands(postroom_cli):
    listed = postroom_cli("help", POSTROOM_PORT="8123", POSTROOM_INBOX_PORT="2600")
    assert "http://127.0.0.1:8123" in listed.stdout
    assert "127.0.0.1:2600" in listed.stdout
    assert ":8000" not in listed.stdout and ":2525" not in listed.stdout
    config = postroom_cli("config")
    assert config.returncode == 0, config.stderr
    assert "show" in config.stdout and "--json" in config.stdout
