"""web.config: the .NET system.net/mailSettings/smtp section, as real sites write it."""

from __future__ import annotations

from postroom.mailsettings.model import (
    AUTO,
    NETWORK,
    NONE,
    PICKUP_DIRECTORY,
    SSL_ON_CONNECT,
    START_TLS,
    Setting,
)

from .conftest import PASSWORD, Site, line_of, messages, web_config


def test_every_attribute_is_read_with_the_line_of_its_element(site: Site) -> None:
    text = web_config(
        f"""
        <smtp from="Site &lt;noreply@mysite.com&gt;" deliveryMethod="Network">
          <network host="smtp.mysite.com"
                   port="587" userName="mailer" password="{PASSWORD}"
                   enableSsl="true" clientDomain="www.mysite.com" />
        </smtp>
        """
    )
    site.write("web.config", text)

    settings = site.load()

    assert settings.errors == ()
    assert settings.from_address == Setting("Site <noreply@mysite.com>", "web.config:5")
    assert settings.host == Setting("smtp.mysite.com", "web.config:6")
    assert settings.port == Setting(587, "web.config:6")
    assert settings.username == Setting("mailer", "web.config:6")
    assert settings.password.value.reveal() == PASSWORD
    assert settings.password.origin == "web.config:6"
    assert settings.secure_socket_options == Setting(START_TLS, "web.config:6")
    assert settings.delivery_method == Setting(NETWORK, "web.config:5")
    assert settings.client_domain == Setting("www.mysite.com", "web.config:6")
    assert settings.configured


def test_dotnet_defaults_apply_to_what_web_config_leaves_out(site: Site) -> None:
    site.write("web.config", web_config('<smtp from="a@mysite.com"><network host="mx" /></smtp>'))

    settings = site.load()

    assert settings.port == Setting(25, "default")
    assert settings.delivery_method == Setting(NETWORK, "default")
    assert settings.secure_socket_options == Setting(NONE, "web.config:5")  # enableSsl false
    assert settings.timeout == Setting(30.0, "default")
    assert settings.pickup_directory == Setting()


def test_enable_ssl_maps_to_ssl_on_connect_on_port_465_and_start_tls_elsewhere(
    site: Site,
) -> None:
    def options(network: str) -> str:
        site.write("web.config", web_config(f'<smtp from="a@b.com"><network {network} /></smtp>'))
        return site.load().secure_socket_options.value

    assert options('host="mx" port="465" enableSsl="true"') == SSL_ON_CONNECT
    assert options('host="mx" port="587" enableSsl="true"') == START_TLS
    assert options('host="mx" enableSsl="true"') == START_TLS
    assert options('host="mx" port="465" enableSsl="false"') == NONE
    assert options('host="mx"') == NONE


def test_without_a_network_element_web_config_leaves_tls_to_the_default(site: Site) -> None:
    site.write("web.config", web_config('<smtp from="a@mysite.com" />'))
    site.write("appsettings.json", '{"Umbraco":{"CMS":{"Global":{"Smtp":{"Host":"mx"}}}}}')

    assert site.load().secure_socket_options == Setting(AUTO, "default")


def test_enum_values_and_booleans_ignore_letter_case(site: Site, tmp_path) -> None:
    pickup = tmp_path / "pickup"
    pickup.mkdir()
    site.write(
        "web.config",
        web_config(
            f"""
            <smtp from="a@mysite.com" deliveryMethod="specifiedPickupDirectory"
                  deliveryFormat="international">
              <network host="mx" port="465" enableSsl="True" />
              <specifiedPickupDirectory pickupDirectoryLocation="{pickup}" />
            </smtp>
            """
        ),
    )

    settings = site.load()

    assert settings.errors == ()
    assert settings.delivery_method.value == PICKUP_DIRECTORY
    assert settings.delivery_format.value == "International"
    assert settings.secure_socket_options.value == SSL_ON_CONNECT
    assert settings.pickup_directory == Setting(str(pickup), "web.config:8")
    assert settings.configured


def test_a_real_web_config_with_bom_comments_namespace_and_other_sections(site: Site) -> None:
    text = (
        '\ufeff<?xml version="1.0" encoding="utf-8"?>\n'
        '<configuration xmlns="http://schemas.microsoft.com/.NetConfiguration/v2.0">\n'
        "  <!-- Umbraco settings -->\n"
        "  <appSettings>\n"
        '    <add key="umbracoConfigurationStatus" value="7.15.0" />\n'
        "  </appSettings>\n"
        '  <system.web><compilation debug="true" /></system.web>\n'
        "  <system.net>\n"
        "    <mailSettings>\n"
        '      <!-- <smtp from="old@mysite.com"> -->\n'
        '      <smtp from="noreply@mysite.com">\n'
        '        <network host="smtp.mysite.com" />\n'
        "      </smtp>\n"
        "    </mailSettings>\n"
        "  </system.net>\n"
        "  <system.webServer><rewrite><rules><clear /></rules></rewrite></system.webServer>\n"
        "</configuration>\n"
    )
    site.write("web.config", text.encode("utf-8"))

    settings = site.load()

    assert settings.errors == () and settings.warnings == ()
    assert settings.from_address == Setting("noreply@mysite.com", "web.config:11")
    assert settings.host == Setting("smtp.mysite.com", "web.config:12")


def test_web_config_is_found_whatever_its_letter_case(site: Site) -> None:
    site.write("Web.config", web_config('<smtp from="a@mysite.com"><network host="mx" /></smtp>'))

    assert site.load().host == Setting("mx", "Web.config:5")


def test_transform_files_are_not_read(site: Site) -> None:
    site.write("web.config", web_config('<smtp from="a@mysite.com"><network host="mx" /></smtp>'))
    site.write(
        "web.Release.config",
        """
        <configuration xmlns:xdt="http://schemas.microsoft.com/XML-Document-Transform">
          <system.net><mailSettings>
            <smtp from="release@mysite.com" xdt:Transform="Replace"><network host="prod" /></smtp>
          </mailSettings></system.net>
        </configuration>
        """,
    )

    settings = site.load()

    assert settings.host.value == "mx"
    assert settings.from_address.value == "a@mysite.com"


def test_config_source_on_smtp_reads_the_named_file(site: Site) -> None:
    site.write("web.config", web_config(r'<smtp configSource="Config\smtp.config" />'))
    site.write(
        "Config/smtp.config",
        """
        <?xml version="1.0"?>
        <smtp from="noreply@mysite.com">
          <network host="smtp.mysite.com" port="2525" />
        </smtp>
        """,
    )

    settings = site.load()

    assert settings.errors == ()
    assert settings.from_address == Setting("noreply@mysite.com", "Config/smtp.config:2")
    assert settings.port == Setting(2525, "Config/smtp.config:3")


def test_config_source_on_mail_settings_reads_the_named_file(site: Site) -> None:
    site.write(
        "web.config",
        "<configuration><system.net>\n"
        '<mailSettings configSource="config\\Mail.config" />\n'
        "</system.net></configuration>\n",
    )
    site.write(
        "Config/mail.config",
        '<mailSettings>\n<smtp from="a@mysite.com">\n<network host="mx" />\n'
        "</smtp>\n</mailSettings>\n",
    )

    settings = site.load()

    assert settings.errors == ()
    assert settings.host == Setting("mx", "Config/mail.config:3")


def test_a_missing_config_source_file_is_an_error_naming_the_path(site: Site) -> None:
    text = web_config(r'<smtp configSource="Config\smtp.config" />')
    site.write("web.config", text)

    settings = site.load()

    [error] = settings.errors
    assert error.source == "web.config"
    assert error.line == line_of(text, "<smtp")
    assert "Config/smtp.config" in error.message
    assert "does not exist" in error.message or "not in" in error.message
    assert "Create Config/smtp.config" in error.hint
    assert not settings.configured


def test_a_config_source_outside_the_site_is_refused(site: Site) -> None:
    site.write("web.config", web_config(r'<smtp configSource="..\..\etc\passwd" />'))

    [error] = site.load().errors
    assert "must be a path inside the site directory" in error.message


def test_pickup_directory_from_iis_is_unsupported_with_a_hint(site: Site) -> None:
    text = web_config('<smtp from="a@mysite.com" deliveryMethod="PickupDirectoryFromIis" />')
    site.write("web.config", text)

    settings = site.load()

    [error] = settings.errors
    assert (error.source, error.line, error.key) == ("web.config", 5, "delivery_method")
    assert "not supported" in error.message
    assert "SpecifiedPickupDirectory" in error.hint
    assert not settings.configured


def test_default_credentials_are_not_supported_and_user_name_and_password_are_used(
    site: Site,
) -> None:
    site.write(
        "web.config",
        web_config(
            '<smtp from="a@mysite.com"><network host="mx" defaultCredentials="true"'
            f' userName="u" password="{PASSWORD}" enableSsl="true" /></smtp>'
        ),
    )

    settings = site.load()

    [warning] = settings.warnings
    assert "defaultCredentials" in warning.message and "not supported" in warning.message
    assert warning.line == 5
    assert settings.username.value == "u"
    assert settings.configured


def test_target_name_is_accepted_and_ignored(site: Site) -> None:
    site.write(
        "web.config",
        web_config(
            '<smtp from="a@mysite.com"><network host="mx" targetName="SMTPSVC/mx" /></smtp>'
        ),
    )

    settings = site.load()

    assert settings.errors == () and settings.warnings == ()


def test_unknown_and_miscased_attributes_are_warned_about(site: Site) -> None:
    site.write(
        "web.config",
        web_config('<smtp from="a@mysite.com"><network host="mx" username="u" hots="x" /></smtp>'),
    )

    settings = site.load()

    assert settings.username.value == "u"  # accepted, but .NET would refuse it
    found = messages(settings.warnings)
    assert any("spelled userName" in message for message in found)
    assert any("unknown attribute hots" in message for message in found)


def test_a_non_numeric_port_is_an_error_at_its_line(site: Site) -> None:
    text = web_config(
        """
        <smtp from="a@mysite.com">

          <network host="mx" port="smtp" />
        </smtp>
        """
    )
    site.write("web.config", text)

    [error] = site.load().errors

    assert (error.source, error.line, error.key) == ("web.config", 7, "port")
    assert "port on <network> is 'smtp'" in error.message
    assert "whole number from 1 to 65535" in error.message


def test_an_invalid_boolean_lists_the_allowed_values(site: Site) -> None:
    site.write(
        "web.config",
        web_config('<smtp from="a@b.com"><network host="mx" enableSsl="yes" /></smtp>'),
    )

    [error] = site.load().errors

    assert error.key == "secure_socket_options"
    assert "expected true or false" in error.message


def test_malformed_xml_is_an_error_with_line_and_column(site: Site) -> None:
    site.write(
        "web.config",
        "<configuration>\n  <system.net>\n    <mailSettings>\n      <smtp from=a@b.com>\n",
    )

    settings = site.load()

    [error] = settings.errors
    assert error.source == "web.config"
    assert error.line == 4
    assert "not well-formed XML" in error.message and "line 4, column" in error.message
    assert error.hint


def test_a_root_other_than_configuration_is_an_error(site: Site) -> None:
    site.write("web.config", "<settings><system.net /></settings>")

    [error] = site.load().errors
    assert "<settings>, not <configuration>" in error.message


def test_web_config_without_mail_settings_gives_nothing_and_no_problems(site: Site) -> None:
    site.write("web.config", "<configuration><appSettings /></configuration>")

    settings = site.load()

    assert (settings.errors, settings.warnings) == ((), ())
    assert settings.host == Setting()
    assert not settings.configured
