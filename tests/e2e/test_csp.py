"""In a real browser, no page breaks the Content-Security-Policy: every script is a file."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from e2e.steps import set_up_administrator

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = [
    "/",
    "/settings/",
    "/inbox/",
    "/outbox/",
    "/forms/",
    "/users/",
    "/users/invitations/",
    "/users/invite/",
    "/users/emails/",
    "/health/",
    "/health/try/",
    "/health/help/",
    "/account/",
]


def watch_violations(page) -> list[str]:
    """Everything the browser reports about the policy: console errors and violation events."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(f"console: {message.text}")
            if "Content Security Policy" in message.text
            or "Content-Security-Policy" in message.text
            else None
        ),
    )
    page.add_init_script(
        """document.addEventListener("securitypolicyviolation", function (e) {
             console.error("Content Security Policy violation: " + e.violatedDirective
                           + " " + e.blockedURI + " at " + e.sourceFile + ":" + e.lineNumber);
           });"""
    )
    return seen


def test_the_main_pages_break_no_policy(page, postroom, screenshot):
    seen = watch_violations(page)
    set_up_administrator(page, postroom.url)

    # A test email: its page polls (a script) until delivered, then the inbox shows it.
    page.goto(postroom.url + "/settings/")
    page.get_by_label("Send a test email to").fill("someone@example.net")
    page.get_by_role("button", name="Send test email").click()
    expect(page.get_by_text("Delivered to the development inbox")).to_be_visible(timeout=30_000)
    page.goto(postroom.url + "/inbox/")
    page.get_by_text("Postroom test email").first.click()
    expect(page.get_by_text("This is a test email from Postroom.").first).to_be_visible()
    # An HTML email in its sandboxed frame: Postroom's page may frame Postroom's sandbox.
    page.goto(postroom.url + "/users/emails/")
    frame = page.frame_locator("iframe.mail-html")
    expect(frame.locator("body")).to_contain_text("invite", ignore_case=True)

    # A form: the builder with its live preview frame (a script), then its other pages.
    page.goto(postroom.url + "/forms/new/")
    page.get_by_label("Name").fill("Contact us")
    page.get_by_role("button", name="Create form").click()
    expect(page.frame_locator("#preview").get_by_label("Email")).to_be_visible()
    page.get_by_label("Add a field").select_option(label="File upload")
    page.get_by_role("button", name="Add field").click()
    page.get_by_label("Label").fill("Your CV")  # the preview follows, drawn by builder.js
    expect(page.frame_locator("#preview").get_by_label("Your CV")).to_be_visible()
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_text("use it in emails as {your_cv}")).to_be_visible()
    page.get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="Embed").click()
    expect(page.locator("#snippet")).to_contain_text("/f/contact-us/")
    page.goto(postroom.url + "/f/contact-us/")
    expect(page.get_by_role("heading", name="Contact us")).to_be_visible()

    for path in PAGES:
        response = page.goto(postroom.url + path)
        assert response.status == 200, path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path

    # Scripts did run: times are shown in local time, confirmations are asked.
    page.goto(postroom.url + "/outbox/")
    expect(page.locator("#log-table time").first).to_have_attribute("title", re.compile("UTC"))
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.goto(postroom.url + "/inbox/")
    page.get_by_role("button", name="Clear all").click()
    expect(page.get_by_text("Postroom test email").first).to_be_visible()
    assert asked == ["Delete every caught message? This cannot be undone."]

    screenshot("last-page")
    assert seen == [], "\n".join(seen)
