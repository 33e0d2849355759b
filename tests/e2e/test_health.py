"""An administrator finds out why mail fails, then tries settings that work."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from health.dnsserver import DnsServer

PASSWORD = "app-password-for-the-test"


def test_health_screen_and_try_settings(
    page, postroom, screenshot, tmp_path, refused_port, smtp_server, certificates
):
    page.goto(postroom.url)
    expect(page).to_have_url(re.compile(r"/setup/$"))
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill("analytical-engine")
    page.get_by_label("Password, again").fill("analytical-engine")
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()

    with DnsServer(
        {
            "postroom.test": ["v=spf1 include:_spf.mail.test -all"],
            "_dmarc.postroom.test": ["v=DMARC1; p=none"],
        }
    ) as dns:
        # The site's settings point at a port where nothing listens; read without a restart.
        settings = {
            "Umbraco": {
                "CMS": {
                    "Global": {
                        "Smtp": {
                            "From": "website@postroom.test",
                            "Host": "127.0.0.1",
                            "Port": refused_port,
                            "SecureSocketOptions": "None",
                        }
                    }
                }
            },
            "Postroom": {
                "Smtp": {"CaFile": str(certificates.ca_file)},
                "Health": {"DnsServer": dns.address},
            },
        }
        (tmp_path / "site" / "appsettings.json").write_text(json.dumps(settings, indent=2))

        nav = page.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name="Health").click()
        expect(page.get_by_role("heading", name="Health", exact=True)).to_be_visible()
        screenshot("1-health-not-run")

        page.get_by_role("button", name="Run all checks").click()
        summary = page.locator("#health-summary")
        expect(summary).to_contain_text("All checks:")
        smtp = page.locator("#check-smtp")
        expect(smtp.locator(".badge").first).to_have_text("Failed")
        connect = smtp.locator('tr[data-step="connect"]')
        expect(connect).to_contain_text("Connect")
        expect(connect).to_contain_text(f"127.0.0.1:{refused_port}: connection refused")
        expect(connect).to_contain_text("How to fix:")
        expect(page.locator("#check-sender-domain")).to_contain_text(
            "SPF record of postroom.test: v=spf1 include:_spf.mail.test -all"
        )
        expect(page.locator("#check-delivery-worker")).to_contain_text("1 worker running")
        screenshot("2-health-smtp-refused")

    page.get_by_role("link", name="About the check: SMTP server").click()
    expect(page).to_have_url(re.compile(r"/health/help/#smtp$"))
    expect(page.locator("#smtp")).to_contain_text("without sending mail")
    screenshot("3-health-help")
    page.go_back()

    # Run one check again from the keyboard.
    page.get_by_role("button", name="Run the check: SMTP server").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#health-summary")).to_contain_text("SMTP server:")

    server = smtp_server(
        tls_context=certificates.server_context(), username="mailer", password=PASSWORD
    )
    page.get_by_role("link", name="Try SMTP settings").click()
    expect(page.get_by_role("heading", name="Try SMTP settings")).to_be_visible()
    page.get_by_label("Start from a provider").select_option("sendgrid")
    expect(page.get_by_label("Host")).to_have_value("smtp.sendgrid.net")
    expect(page.get_by_label("User name")).to_have_value("apikey")
    screenshot("4-try-settings-preset")

    page.get_by_label("Host").fill("127.0.0.1")
    page.get_by_label("Port").fill(str(server.port))
    page.get_by_label("TLS (SecureSocketOptions)").select_option("StartTls")
    page.get_by_label("User name").fill("mailer")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Run the SMTP check").click()

    expect(page.get_by_text("These settings work.")).to_be_visible()
    expect(page.locator('tr[data-step="auth"]')).to_contain_text("Logged in as mailer")
    expect(page.locator("#web-config-text")).to_contain_text(
        f'<network host="127.0.0.1" port="{server.port}" enableSsl="true" userName="mailer" />'
    )
    expect(page.locator("#appsettings-text")).to_contain_text('"SecureSocketOptions": "StartTls"')
    expect(page.locator("#environment-text")).to_contain_text(
        "Umbraco__CMS__Global__Smtp__Password="
    )
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    assert PASSWORD not in page.content()
    assert server.messages == []
    screenshot("5-try-settings-passed")

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=postroom.url)
    page.get_by_role("button", name="Copy").first.click()
    expect(page.locator("#copy-status")).to_have_text("Copied to the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#web-config-text").text_content()
    assert f'port="{server.port}"' in copied
