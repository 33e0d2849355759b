"""An administrator manages the suppression list in a real browser, at 1280 and 390 px."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from e2e.steps import set_up_administrator


def test_suppression_list_add_import_remove_and_export(page, postroom, screenshot, tmp_path):
    set_up_administrator(page, postroom.url)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Suppressions").click()
    expect(page.get_by_role("heading", name="Suppression list")).to_be_visible()
    expect(page.locator(".empty")).to_contain_text("The list is empty")

    page.get_by_label("Address").fill("Bounced@Example.NET")
    page.get_by_label("Note").fill("The mailbox was closed.")
    page.get_by_role("button", name="Add to the list").click()
    expect(page.locator(".flash-success")).to_contain_text("Added Bounced@example.net")

    csv = tmp_path / "list.csv"
    csv.write_text("address,reason,note\n=cmd@example.org,complaint,from the old tool\nnot-one\n")
    page.get_by_label("CSV file").set_input_files(str(csv))
    page.get_by_role("button", name="Import").click()
    expect(page.locator(".flash-success")).to_contain_text("Added 1 address; 1 row left out.")
    expect(page.locator(".flash-warning")).to_contain_text("Row 3")
    expect(page.locator("#suppressions-table tbody tr")).to_have_count(2)
    screenshot("1-suppressions-1280")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = download.value.path().read_text(encoding="utf-8-sig")
    assert "'=cmd@example.org,complaint," in exported

    # Remove by keyboard only, with a note.
    page.get_by_role("searchbox", name="Search").fill("example.org")
    page.get_by_role("searchbox", name="Search").press("Enter")
    expect(page.locator("#suppressions-table tbody tr")).to_have_count(1)
    summary = page.locator("details.remove summary").first
    summary.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("Imported by mistake")
    page.keyboard.press("Enter")
    expect(page.locator(".flash-success")).to_contain_text("Removed =cmd@example.org")
    expect(page).to_have_url(re.compile(r"/suppressions/\?q=example\.org$"))
    expect(page.locator("#removals-table")).to_contain_text("Imported by mistake")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(postroom.url + "/suppressions/")
    page.locator("details.remove summary").first.click()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide at 390 px"
    screenshot("2-suppressions-390")

    page.goto(postroom.url + "/outbox/?status=suppressed")
    expect(page.get_by_label("Status")).to_have_value("suppressed")

    # An invitation to a listed address goes out, with a warning on the way and on the message.
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(postroom.url + "/users/invite/")
    page.get_by_label("Email address").fill("bounced@example.net")
    page.get_by_label("Name").fill("Bo Unced")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.locator(".flash-warning")).to_contain_text("on the suppression list")
    page.goto(postroom.url + "/")
    expect(page.locator("#suppressed-sign-ins")).to_contain_text("1 invitation or password reset")
    screenshot("3-dashboard-warning")
    page.goto(postroom.url + "/outbox/?kind=invite")
    page.locator("#log-table a").first.click()
    expect(page.locator("#message-notice")).to_contain_text("sent anyway")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("4-message-notice-390")
