"""appsettings.json: Umbraco:CMS:Global:Smtp and Postroom:Smtp, read the way .NET reads them."""

from __future__ import annotations

from pathlib import Path

import trustme

from postroom.config import read_bool, read_int, read_setting
from postroom.mailsettings import Secret, Setting
from postroom.mailsettings.model import AUTO, PICKUP_DIRECTORY, SSL_ON_CONNECT, START_TLS

from .conftest import PASSWORD, Site, messages

FULL = f"""
{{
  "Umbraco": {{
    "CMS": {{
      "Global": {{
        "Smtp": {{
          "From": "Site <noreply@mysite.com>",
          "Host": "smtp.mysite.com",
          "Port": 587,
          "SecureSocketOptions": "StartTls",
          "Username": "mailer",
          "Password": "{PASSWORD}",
          "DeliveryMethod": "Network"
        }}
      }}
    }}
  }},
  "Postroom": {{ "Smtp": {{ "TimeoutSeconds": 12.5 }} }}
}}
"""


def test_the_smtp_section_is_read_with_the_line_of_each_key(site: Site) -> None:
    site.write("appsettings.json", FULL)

    settings = site.load()

    assert settings.errors == () and settings.warnings == ()
    assert settings.from_address == Setting("Site <noreply@mysite.com>", "appsettings.json:6")
    assert settings.host == Setting("smtp.mysite.com", "appsettings.json:7")
    assert settings.port == Setting(587, "appsettings.json:8")
    assert settings.secure_socket_options == Setting(START_TLS, "appsettings.json:9")
    assert settings.username == Setting("mailer", "appsettings.json:10")
    assert settings.password == Setting(Secret(PASSWORD), "appsettings.json:11")
    assert settings.delivery_method.value == "Network"
    assert settings.timeout == Setting(12.5, "appsettings.json:17")
    assert settings.configured


def test_defaults_when_keys_are_absent(site: Site) -> None:
    site.write("appsettings.json", '{"Umbraco":{"CMS":{"Global":{"Smtp":{"From":"a@b.com"}}}}}')

    settings = site.load()

    assert settings.secure_socket_options == Setting(AUTO, "default")
    assert settings.port == Setting(25, "default")
    assert settings.delivery_method == Setting("Network", "default")
    assert settings.timeout == Setting(30.0, "default")
    assert settings.host == Setting()


def test_the_default_port_is_465_with_ssl_on_connect(site: Site) -> None:
    site.write(
        "appsettings.json",
        '{"Umbraco":{"CMS":{"Global":{"Smtp":{"Host":"mx","SecureSocketOptions":"SslOnConnect"}}}}}',
    )

    assert site.load().port == Setting(465, "default")


def test_keys_and_enum_values_ignore_letter_case(site: Site, tmp_path: Path) -> None:
    site.write(
        "appsettings.json",
        f"""
        {{"umbraco": {{"cms": {{"GLOBAL": {{"smtp": {{
            "from": "a@mysite.com",
            "HOST": "mx",
            "securesocketoptions": "sslonconnect",
            "deliveryMethod": "specifiedpickupdirectory",
            "PickupDirectoryLocation": "{tmp_path}"
        }}}}}}}}}}
        """,
    )

    settings = site.load()

    assert settings.errors == ()
    assert settings.host.value == "mx"
    assert settings.secure_socket_options.value == SSL_ON_CONNECT
    assert settings.delivery_method.value == PICKUP_DIRECTORY
    assert settings.pickup_directory.value == str(tmp_path)


def test_comments_and_trailing_commas_are_accepted_as_dotnet_accepts_them(site: Site) -> None:
    site.write(
        "appsettings.json",
        """
        /* Umbraco settings */
        {
          // the mail server
          "Umbraco": { "CMS": { "Global": { "Smtp": {
            "From": "a@mysite.com", /* sender */
            "Host": "mx", // host
            "Port": [25, 587,][1],
          }, }, }, },
        }
        """,
    )

    settings = site.load()

    [error] = settings.errors  # "[...][1]" is not JSON; everything before it is fine
    assert error.line == 7

    site.write(
        "appsettings.json",
        """
        /* Umbraco settings */
        {
          // the mail server
          "Umbraco": { "CMS": { "Global": { "Smtp": {
            "From": "a@mysite.com", /* sender */
            "Host": "mx", // host
          }, }, }, },
        }
        """,
    )

    settings = site.load()

    assert settings.errors == ()
    assert settings.host == Setting("mx", "appsettings.json:6")


def test_a_utf8_byte_order_mark_is_fine(site: Site) -> None:
    site.write(
        "appsettings.json",
        '\ufeff{"Umbraco":{"CMS":{"Global":{"Smtp":{"Host":"mx","From":"a@b.com"}}}}}'.encode(),
    )

    settings = site.load()

    assert settings.errors == ()
    assert settings.host.value == "mx"


def test_port_may_be_a_numeric_string_as_dotnet_binds_it(site: Site) -> None:
    site.write("appsettings.json", '{"Umbraco":{"CMS":{"Global":{"Smtp":{"Port":"2525"}}}}}')

    assert site.load().port.value == 2525


def test_malformed_json_is_an_error_with_file_line_and_column(site: Site) -> None:
    site.write(
        "appsettings.json",
        """
        {
          "Umbraco": {
            "CMS": { "Global": { "Smtp": { "Host": "mx" "Port": 25 } } }
          }
        }
        """,
    )

    settings = site.load()

    [error] = settings.errors
    assert (error.source, error.line) == ("appsettings.json", 3)
    assert "not valid JSON" in error.message
    assert "line 3, column 49" in error.message
    assert "expected ',' or '}'" in error.message
    assert error.hint
    assert not settings.configured


def test_the_root_must_be_an_object(site: Site) -> None:
    site.write("appsettings.json", '["Umbraco"]')

    [error] = site.load().errors
    assert "must hold a JSON object" in error.message and "not an array" in error.message


def test_the_smtp_section_must_be_an_object(site: Site) -> None:
    site.write(
        "appsettings.json", '{\n"Umbraco": {"CMS": {"Global": {\n"Smtp": "smtp.mysite.com"}}}}'
    )

    [error] = site.load().errors
    assert (error.source, error.line) == ("appsettings.json", 3)
    assert "Umbraco:CMS:Global:Smtp must be an object" in error.message


def test_an_array_where_a_string_is_expected_names_key_file_line_and_type(site: Site) -> None:
    site.write(
        "appsettings.json",
        '{"Umbraco":{"CMS":{"Global":{"Smtp":{\n"From": "a@mysite.com",\n"Host": ["mx"]}}}}}',
    )

    settings = site.load()

    [error] = settings.errors
    assert (error.source, error.line, error.key) == ("appsettings.json", 3, "host")
    assert error.message == "Umbraco:CMS:Global:Smtp:Host is an array; expected a string."
    assert settings.host == Setting(None, "appsettings.json:3")
    assert not settings.configured


def test_wrong_port_types_and_ranges_are_errors(site: Site) -> None:
    def port_error(value: str) -> str:
        site.write(
            "appsettings.json",
            f'{{"Umbraco":{{"CMS":{{"Global":{{"Smtp":{{"Port":{value}}}}}}}}}}}',
        )
        [error] = site.load().errors
        assert error.key == "port"
        return error.message

    assert "is true; expected a whole number from 1 to 65535" in port_error("true")
    assert "is a number; expected a whole number" in port_error("587.5")
    assert "is a number; expected" in port_error("70000")
    assert "is 'smtp'; expected" in port_error('"smtp"')
    assert "is an object; expected" in port_error("{}")


def test_duplicate_keys_are_an_error_as_in_dotnet(site: Site) -> None:
    site.write(
        "appsettings.json", '{"Umbraco":{"CMS":{"Global":{"Smtp":{\n"Host":"a",\n"host":"b"}}}}}'
    )

    [error] = site.load().errors
    assert error.line == 3 and "appears twice" in error.message


def test_unknown_keys_in_the_section_are_warned_about(site: Site) -> None:
    site.write("appsettings.json", '{"Umbraco":{"CMS":{"Global":{"Smtp":{"Hots":"mx"}}}}}')

    [warning] = site.load().warnings
    assert "Umbraco:CMS:Global:Smtp:Hots is not a setting Postroom knows" in warning.message
    assert "Host" in warning.hint


def test_an_empty_file_is_ignored_with_a_warning(site: Site) -> None:
    site.write("appsettings.json", "  // nothing yet\n")

    settings = site.load()

    assert settings.errors == ()
    assert "appsettings.json is empty" in messages(settings.warnings)[0]


def test_postroom_ca_file_and_timeout(site: Site) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(site.path / "ca.pem"))
    site.write(
        "appsettings.json",
        '{"Postroom": {"Smtp": {\n"CaFile": "ca.pem",\n"TimeoutSeconds": "5"}}}',
    )

    settings = site.load()

    assert settings.errors == ()
    assert settings.ca_file == Setting(str(site.path / "ca.pem"), "appsettings.json:2")
    assert settings.timeout == Setting(5.0, "appsettings.json:3")


def test_a_ca_file_that_is_missing_or_not_pem_is_an_error(site: Site) -> None:
    site.write("appsettings.json", '{"Postroom": {"Smtp": {"CaFile": "missing.pem"}}}')
    [error] = site.load().errors
    assert error.key == "ca_file" and "does not exist" in error.message

    site.write("not-pem.txt", "hello")
    site.write("appsettings.json", '{"Postroom": {"Smtp": {"CaFile": "not-pem.txt"}}}')
    [error] = site.load().errors
    assert "cannot be read as PEM certificates" in error.message


def test_other_keys_can_be_read_with_their_origin(site: Site) -> None:
    site.write(
        "appsettings.json",
        """
        {
          "Umbraco": {
            "CMS": {
              "Security": {
                "AllowPasswordReset": false,
                "UserPassword": { "RequiredLength": 12 }
              },
              "Global": { "Smtp": { "Password": "secret" } }
            }
          }
        }
        """,
    )

    assert read_setting("Umbraco:CMS:Security:AllowPasswordReset") == Setting(
        False, "appsettings.json:5"
    )
    assert read_setting("umbraco:cms:security:allowpasswordreset").value is False
    assert read_setting("Umbraco:CMS:Security:Missing") == Setting()
    assert read_bool("Umbraco:CMS:Security:AllowPasswordReset", True) == (
        Setting(False, "appsettings.json:5"),
        None,
    )
    assert read_int("Umbraco:CMS:Security:UserPassword:RequiredLength", 10) == (
        Setting(12, "appsettings.json:6"),
        None,
    )
    assert read_int("Umbraco:CMS:Security:UserPassword:MaxFailed", 5) == (
        Setting(5, "default"),
        None,
    )
    assert isinstance(read_setting("Umbraco:CMS:Global:Smtp:Password").value, Secret)


def test_a_typed_read_of_a_wrong_value_gives_the_default_and_a_problem(site: Site) -> None:
    site.write(
        "appsettings.json", '{"Umbraco":{"CMS":{"Security":{"AllowPasswordReset":"maybe"}}}}'
    )

    setting, problem = read_bool("Umbraco:CMS:Security:AllowPasswordReset", True)

    assert setting == Setting(True, "default")
    assert problem is not None
    assert problem.source == "appsettings.json" and problem.line == 1
    assert "expected true or false" in problem.message
