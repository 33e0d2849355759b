"""A new user's first minutes: set up, log in, send a test email, see it in the Inbox."""

import re

from playwright.sync_api import expect


def test_first_administrator_test_email_and_inbox(page, postroom, screenshot):
    page.goto(postroom.url)
    expect(page).to_have_url(re.compile(r"/setup/$"))
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    screenshot("1-setup")

    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill("analytical-engine")
    page.get_by_label("Password, again").fill("analytical-engine")
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    screenshot("2-dashboard")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Password").fill("analytical-engine")
    screenshot("3-login")
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(page.locator("#destination")).to_contain_text(
        f"development inbox at 127.0.0.1:{postroom.inbox_port}"
    )

    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    expect(page.get_by_text("Not configured")).to_be_visible()
    screenshot("4-settings")

    page.get_by_label("Send a test email to").fill("someone@example.net")
    page.get_by_role("button", name="Send test email").click()
    expect(page.get_by_text("Delivered to the development inbox")).to_be_visible()
    expect(page.locator("#server-reply")).to_contain_text("250")
    screenshot("5-test-email-sent")

    nav.get_by_role("link", name="Inbox").click()
    expect(page.get_by_text("Postroom test email").first).to_be_visible()
    screenshot("6-inbox")
    page.get_by_text("Postroom test email").first.click()
    expect(page.get_by_text("This is a test email from Postroom.").first).to_be_visible()
    screenshot("7-inbox-message")
