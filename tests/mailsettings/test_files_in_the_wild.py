"""Shapes that real web.config and appsettings.json files have, read as .NET and Umbraco read
them, with a clear word wherever .NET would fail."""

from __future__ import annotations

import json

import pytest

from postroom.mailsettings.model import PICKUP_DIRECTORY, Setting

from .conftest import PASSWORD, Site, line_of, messages, web_config


def location_config(path_attribute: str, smtp: str) -> str:
    return (
        "<configuration>\n"
        '  <system.web><compilation debug="false" /></system.web>\n'
        f'  <location {path_attribute} inheritInChildApplications="false">\n'
        "    <system.net>\n"
        "      <mailSettings>\n"
        f"        {smtp}\n"
        "      </mailSettings>\n"
        "    </system.net>\n"
        "  </location>\n"
        "</configuration>\n"
    )


SMTP = '<smtp from="site@mysite.com"><network host="smtp.mysite.com" port="587" /></smtp>'


# -- <location> ------------------------------------------------------------------------------


@pytest.mark.parametrize("path_attribute", ['path="."', 'path=""', ""])
def test_system_net_inside_a_location_for_the_site_itself_is_read(
    site: Site, path_attribute: str
) -> None:
    site.write("web.config", location_config(path_attribute, SMTP))

    settings = site.load()

    assert settings.errors == ()
    assert settings.host == Setting("smtp.mysite.com", "web.config:6")
    assert settings.from_address.value == "site@mysite.com"
    assert settings.configured


def test_a_location_for_a_sub_directory_is_not_the_site(site: Site) -> None:
    site.write("web.config", location_config('path="umbraco"', SMTP))

    settings = site.load()

    assert settings.errors == () and not settings.host.is_set
    assert not settings.configured


def test_smtp_both_at_the_top_and_in_a_site_location_is_refused_like_dotnet(site: Site) -> None:
    site_location = (
        '  <location path=".">\n'
        "    <system.net><mailSettings>\n"
        f"      {SMTP}\n"
        "    </mailSettings></system.net>\n"
        "  </location>\n"
    )
    text = web_config(SMTP, after=site_location)
    assert (line_of(text, "<smtp"), text.count("\n", 0, text.rindex("<smtp")) + 1) == (5, 10)
    site.write("web.config", text)

    settings = site.load()

    [error] = settings.errors
    assert "<smtp> appears twice (lines 5 and 10)" in error.message
    assert "Sections must only appear once per config file" in error.message
    assert not settings.host.is_set and not settings.configured


# -- two <smtp>, two <network> ---------------------------------------------------------------


def test_two_smtp_elements_in_one_mail_settings_are_an_error_naming_both_lines(
    site: Site,
) -> None:
    text = web_config(
        """
        <smtp from="old@mysite.com">
          <network host="old.mysite.com" />
        </smtp>
        <smtp from="new@mysite.com">
          <network host="new.mysite.com" />
        </smtp>
        """
    )
    site.write("web.config", text)

    settings = site.load()

    [error] = settings.errors
    first, second = line_of(text, '<smtp from="old'), line_of(text, '<smtp from="new')
    assert (first, second) == (5, 8)
    assert f"<smtp> appears twice (lines {first} and {second})" in error.message
    assert ".NET refuses the whole file" in error.message
    assert (error.source, error.line) == ("web.config", second)
    assert "Keep one <smtp> element" in error.hint
    assert not settings.host.is_set and not settings.configured  # neither one is used


def test_two_network_elements_are_an_error_too(site: Site) -> None:
    site.write(
        "web.config",
        web_config(
            """
            <smtp from="a@mysite.com">
              <network host="one.mysite.com" />
              <network host="two.mysite.com" />
            </smtp>
            """
        ),
    )

    [error] = site.load().errors

    assert "<network> appears twice (lines 6 and 7)" in error.message


# -- the pickup directory -------------------------------------------------------------------


def pickup_config(location: str, method: str = ' deliveryMethod="SpecifiedPickupDirectory"') -> str:
    return web_config(
        f"""
        <smtp from="site@mysite.com"{method}>
          <specifiedPickupDirectory pickupDirectoryLocation="{location}" />
        </smtp>
        """
    )


def test_a_tilde_pickup_directory_is_refused_with_where_tilde_would_point(site: Site) -> None:
    (site.path / "App_Data" / "Mail").mkdir(parents=True)
    site.write("web.config", pickup_config("~/App_Data/Mail"))

    settings = site.load()

    [error] = settings.errors
    assert (error.source, error.line, error.key) == ("web.config", 6, "pickup_directory")
    assert "~/App_Data/Mail starts with ~" in error.message
    assert "accepts only absolute directories" in error.message
    assert f"here it would be {site.path}" in error.hint
    assert str(site.path / "App_Data" / "Mail") in error.hint
    assert not settings.configured


def test_a_tilde_pickup_directory_is_refused_in_appsettings_too(site: Site) -> None:
    site.write(
        "appsettings.json",
        json.dumps(
            {
                "Umbraco": {
                    "CMS": {
                        "Global": {
                            "Smtp": {
                                "From": "site@mysite.com",
                                "DeliveryMethod": "SpecifiedPickupDirectory",
                                "PickupDirectoryLocation": "~\\App_Data\\Mail",
                            }
                        }
                    }
                }
            }
        ),
    )

    [error] = site.load().errors

    assert "starts with ~" in error.message
    assert str(site.path / "App_Data" / "Mail") in error.hint


def test_a_relative_pickup_directory_in_web_config_is_refused_like_dotnet(site: Site) -> None:
    (site.path / "mail").mkdir()
    site.write("web.config", pickup_config("mail"))

    [error] = site.load().errors

    assert "The pickup directory mail is relative" in error.message
    assert "Only absolute directories are allowed" in error.message
    assert str(site.path / "mail") in error.hint


def test_an_absolute_pickup_directory_in_web_config_works(site: Site, tmp_path) -> None:
    site.write("web.config", pickup_config(str(tmp_path)))

    settings = site.load()

    assert settings.errors == () and settings.warnings == ()
    assert settings.delivery_method.value == PICKUP_DIRECTORY and settings.configured


def test_a_pickup_directory_without_a_delivery_method_is_ignored_with_a_warning(
    site: Site, tmp_path
) -> None:
    text = web_config(
        f"""
        <smtp from="site@mysite.com">
          <network host="smtp.mysite.com" />
          <specifiedPickupDirectory pickupDirectoryLocation="{tmp_path}" />
        </smtp>
        """
    )
    site.write("web.config", text)

    settings = site.load()

    assert settings.errors == ()
    [warning] = settings.warnings
    assert (warning.line, warning.key) == (7, "delivery_method")
    assert "mail goes to the SMTP server and the directory is ignored" in warning.message
    assert 'deliveryMethod="SpecifiedPickupDirectory"' in warning.hint
    assert not settings.uses_pickup_directory and settings.configured


# -- values exactly as written ---------------------------------------------------------------


def test_a_password_ending_in_a_space_keeps_its_space(site: Site) -> None:
    text = web_config(
        f"""
        <smtp from="site@mysite.com">
          <network host="smtp.mysite.com" port="587" enableSsl="true"
                   userName=" mailer" password="{PASSWORD} " />
        </smtp>
        """
    )
    site.write("web.config", text)

    settings = site.load()

    assert settings.password.value.reveal() == PASSWORD + " "
    assert settings.username.value == " mailer"
    assert settings.errors == () and settings.configured
    assert sorted(messages(settings.warnings)) == [
        "password on <network> ends with a space; the password is used exactly as written,"
        " spaces included, as .NET does.",
        "userName on <network> begins with a space; the user name is used exactly as written,"
        " spaces included, as .NET does.",
    ]
    assert all(PASSWORD not in text for text in messages(settings.warnings))


def test_a_host_is_trimmed_as_dotnet_trims_it(site: Site) -> None:
    site.write(
        "web.config", web_config('<smtp from=" a@mysite.com "><network host=" mx " /></smtp>')
    )

    settings = site.load()

    assert settings.host.value == "mx" and settings.errors == ()


# -- unreplaced deployment tokens and template values ---------------------------------------


@pytest.mark.parametrize(
    "token", ["#{smtpPassword}#", "__SmtpPassword__", "$(SmtpPassword)", "${SMTP_PASSWORD}"]
)
def test_an_unreplaced_deployment_token_counts_as_not_configured(site: Site, token: str) -> None:
    site.write(
        "web.config",
        web_config(
            f"""
            <smtp from="site@mysite.com">
              <network host="smtp.mysite.com" port="587" enableSsl="true"
                       userName="mailer" password="{token}" />
            </smtp>
            """
        ),
    )

    settings = site.load()

    assert settings.errors == ()
    [warning] = settings.warnings
    assert (warning.line, warning.key) == (6, "password")
    assert "a deployment token that was never replaced" in warning.message
    assert "SMTP counts as not configured" in warning.message
    assert "Octopus" in warning.hint
    assert not settings.password.is_set
    assert settings.placeholder and not settings.configured


@pytest.mark.parametrize(
    ("key", "token"),
    [("Host", "#{SmtpHost}#"), ("Port", "__SmtpPort__"), ("From", "$(SmtpFrom)")],
)
def test_a_token_in_any_field_is_named_as_a_token(site: Site, key: str, token: str) -> None:
    smtp = {"From": "site@mysite.com", "Host": "smtp.mysite.com", "Port": 587} | {key: token}
    site.write("appsettings.json", json.dumps({"Umbraco": {"CMS": {"Global": {"Smtp": smtp}}}}))

    settings = site.load()

    assert settings.errors == ()
    assert [w.key for w in settings.warnings] == [key.lower()]
    assert f"Umbraco:CMS:Global:Smtp:{key} is '{token}', a deployment token" in (
        settings.warnings[0].message
    )
    assert not settings.configured


def test_a_password_that_merely_contains_dollar_or_hash_is_a_password(site: Site) -> None:
    site.write(
        "web.config",
        web_config(
            '<smtp from="a@mysite.com"><network host="mx" port="587" enableSsl="true"'
            ' userName="u" password="pa$(x)ss#{y}#" /></smtp>'
        ),
    )

    settings = site.load()

    assert settings.warnings == () and settings.configured


def test_the_umbraco_template_sender_counts_as_not_configured(site: Site) -> None:
    site.write(
        "appsettings.json",
        json.dumps(
            {"Umbraco": {"CMS": {"Global": {"Smtp": {"From": "your@email.here", "Host": "mx"}}}}}
        ),
    )

    settings = site.load()

    [warning] = settings.warnings
    assert warning.key == "from"
    assert "your@email.here is the placeholder value from Umbraco's appsettings.json" in (
        warning.message
    )
    assert settings.placeholder and not settings.configured
