"""In a real browser: the email log's bulk actions wait for a selection and ask before acting
on many, the form preview is as tall as the form, and the new pages look right."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from e2e.steps import set_up_administrator

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_bulk_actions_preview_frame_and_new_pages(page, postroom, screenshot):
    set_up_administrator(page, postroom.url)
    page.goto(postroom.url + "/settings/")
    page.get_by_label("Send a test email to").fill("someone@example.net")
    page.get_by_role("button", name="Send test email").click()
    expect(page.get_by_text("Delivered to the development inbox")).to_be_visible(timeout=30_000)

    page.goto(postroom.url + "/outbox/")
    cancel = page.locator("#bulk-actions").get_by_role("button", name="Cancel")
    expect(cancel).to_be_disabled()
    page.get_by_label("Tick message").first.check()
    expect(cancel).to_be_enabled()
    page.get_by_label("Tick message").first.uncheck()
    expect(cancel).to_be_disabled()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator("#scope-all").check()
    cancel.click()
    assert asked == ["Cancel: all 1 matching messages?"]
    screenshot("email-log")

    page.goto(postroom.url + "/forms/new/")
    page.get_by_label("Name").fill("Contact us")
    page.get_by_role("button", name="Create form").click()
    frame = page.locator("#preview")
    expect(page.frame_locator("#preview").get_by_label("Email")).to_be_visible()
    page.wait_for_function(
        """() => { const f = document.getElementById("preview");
                   const body = f.contentDocument.body.getBoundingClientRect().height;
                   return body > 300 && Math.abs(f.clientHeight - Math.max(body, 420)) <= 3; }"""
    )
    # Nothing to scroll inside the frame: the whole form shows.
    assert frame.evaluate("f => f.contentDocument.scrollingElement.scrollTop === 0")
    sizes = frame.evaluate("f => [f.contentDocument.scrollingElement.scrollHeight, f.clientHeight]")
    assert sizes[0] <= sizes[1] + 1, sizes
    screenshot("form-builder")

    page.goto(postroom.url + "/account/")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.get_by_text("this session")).to_be_visible()
    screenshot("account")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("account-390")
    page.set_viewport_size({"width": 1280, "height": 860})

    response = page.goto(postroom.url + "/outbox/987654/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    screenshot("not-found")
    page.goto(postroom.url + "/f/no-such-form/")
    expect(page.get_by_role("heading", name="This form is not here")).to_be_visible()
    screenshot("form-not-found")
