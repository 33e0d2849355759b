"""A site owner builds a form, a visitor sends it with a file, the owner sees entry and email."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import expect

from e2e.steps import set_up_administrator

CV = b"Ada Lovelace\nAnalyst of engines.\n"


def test_build_a_form_send_it_with_a_file_and_read_the_email(page, postroom, screenshot):
    set_up_administrator(page, postroom.url)
    nav = page.get_by_role("navigation", name="Main")

    # Build: a new form starts as a contact form that emails its creator.
    nav.get_by_role("link", name="Forms").click()
    expect(page.get_by_role("heading", name="Forms")).to_be_visible()
    screenshot("1-no-forms")
    page.get_by_role("link", name="New form").click()
    page.get_by_label("Name").fill("Job application")
    page.get_by_role("button", name="Create form").click()
    expect(page.get_by_role("heading", name="Job application")).to_be_visible()
    expect(page.get_by_text("emails each entry to ada@example.com")).to_be_visible()
    preview = page.frame_locator("#preview")
    expect(preview.get_by_label("Email")).to_be_visible()

    page.get_by_label("Add a field").select_option(label="File upload")
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_role("heading", name="New field")).to_be_visible()
    page.get_by_label("Label").fill("Your CV")
    page.get_by_label("Help text").fill("A PDF or a text file, up to 2 MB.")
    # The preview follows the typing, before anything is saved.
    expect(preview.get_by_label("Your CV")).to_be_visible()
    expect(preview.get_by_text("A PDF or a text file, up to 2 MB.")).to_be_visible()
    page.get_by_label("Allowed file types").fill("pdf, txt")
    page.get_by_label("Largest file (MB)").fill("2")
    screenshot("2-field-with-live-preview")
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_text("use it in emails as {your_cv}")).to_be_visible()

    page.get_by_role("button", name="Move Your CV up").click()
    fields = page.locator("#field-list .fb-field-label")
    expect(fields).to_have_text(["Name", "Email", "Your CV", "Message"])
    expect(preview.locator("form label").nth(2)).to_contain_text("Your CV")
    screenshot("3-builder")

    page.get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="Email ada@example.com").first.click()
    expect(page.get_by_label("Reply-To")).to_have_value("{email}")
    page.get_by_label("Subject").fill("Application from {name}")
    screenshot("4-workflow")
    page.get_by_role("button", name="Save workflow").click()
    expect(page.get_by_text("Saved the workflow")).to_be_visible()
    page.get_by_role("link", name="Embed").click()
    expect(page.locator("#snippet")).to_contain_text(f'action="{postroom.url}/f/job-application/"')
    screenshot("5-embed")

    # A visitor sends the public page, with a file.
    cv = {"name": "grace-cv.txt", "mimeType": "text/plain", "buffer": CV}
    page.goto(f"{postroom.url}/f/job-application/")
    shown_at = time.monotonic()
    expect(page.get_by_role("heading", name="Job application")).to_be_visible()
    page.get_by_role("button", name="Send").click()  # the browser asks for the required answers
    expect(page).to_have_url(re.compile(r"/f/job-application/$"))
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("Email").fill("grace@example")  # the browser lets it pass; the server not
    page.get_by_label("Your CV").set_input_files(cv)
    page.get_by_label("Message").fill("I would like to apply.\nSee my CV.")
    screenshot("6-public-form")
    time.sleep(max(0.0, 3.2 - (time.monotonic() - shown_at)))  # the minimum time to fill in
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct 2 answers below")
    expect(page.locator("#f-email-errors")).to_have_text(
        "Enter an email address, e.g. name@example.com."
    )
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-your_cv-errors")).to_contain_text("Please choose the file again")
    expect(page.get_by_label("Message")).to_have_value("I would like to apply.\nSee my CV.")
    screenshot("7-public-form-errors")
    page.get_by_label("Email").fill("grace@example.net")
    page.get_by_label("Your CV").set_input_files(cv)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Thank you. Your message was sent.")).to_be_visible()
    screenshot("8-thank-you")

    # The owner sees the entry, its file and its email.
    page.goto(f"{postroom.url}/forms/")
    expect(page.locator("#forms-table")).to_contain_text("Job application")
    page.get_by_role("link", name="Job application").click()
    page.get_by_role("link", name=re.compile(r"^Entries \(1\)$")).click()
    expect(page.locator("#entries-table")).to_contain_text("Grace Hopper")
    screenshot("9-entries")
    page.locator("#entries-table").get_by_role("link", name="#1").click()
    expect(page.get_by_role("heading", name="Entry #1")).to_be_visible()
    expect(page.get_by_role("link", name="grace-cv.txt")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="grace-cv.txt").click()
    assert download.value.suggested_filename == "grace-cv.txt"
    assert Path(download.value.path()).read_bytes() == CV
    runs = page.locator("#runs")
    for _ in range(60):  # the worker delivers to the development inbox within a moment
        if runs.get_by_text("Sent", exact=True).count():
            break
        time.sleep(0.25)
        page.reload()
    expect(runs.get_by_text("Sent", exact=True)).to_be_visible()
    expect(runs).to_contain_text("ada@example.com")
    expect(runs).to_contain_text("250")
    screenshot("10-entry")

    nav.get_by_role("link", name="Inbox").click()
    page.get_by_text("Application from Grace Hopper").first.click()
    expect(page.get_by_role("heading", name="Application from Grace Hopper")).to_be_visible()
    page.get_by_role("tab", name="Text").click()
    expect(page.locator("#tab-panel pre")).to_contain_text("Name: Grace Hopper")
    expect(page.locator("#tab-panel pre")).to_contain_text("Your CV: grace-cv.txt")
    page.get_by_role("tab", name=re.compile(r"Attachments")).click()
    expect(page.get_by_role("link", name="grace-cv.txt")).to_be_visible()
    screenshot("11-inbox-attachment")
    page.get_by_role("tab", name="Headers").click()
    expect(page.locator("#tab-panel")).to_contain_text("grace@example.net")  # Reply-To
