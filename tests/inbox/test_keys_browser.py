"""The inbox by keyboard in Chromium: j/k, Enter, "?", "/" and Delete, at phone and laptop width."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from emails import make_email

from .conftest import store

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "inbox"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
def caught(db) -> None:  # noqa: ANN001
    """Stored before Playwright starts: its event loop forbids database calls in this thread."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    mail = make_email(
        "Your order has shipped", html='<p>Hi <img src="https://example.com/x.png" alt="x"></p>'
    )
    mail.add_attachment(b"\x89PNG\r\n\x1a\n", maintype="image", subtype="png", filename="label.png")
    store(mail.as_bytes(), minutes_ago=3)
    store(make_email("Reset your password").as_bytes(), minutes_ago=2)
    store(make_email("Welcome aboard").as_bytes(), minutes_ago=1)


@pytest.fixture
def tab(live_server, client: Client, user, caught):  # noqa: ANN001, ANN201
    from playwright.sync_api import sync_playwright

    client.force_login(user)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        browser.close()


def test_keyboard_reading(tab, live_server) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    tab.goto(live_server.url + "/inbox/")
    expect(tab.locator(".nav-count")).to_contain_text("3")
    tab.keyboard.press("j")
    tab.keyboard.press("j")
    expect(tab.locator("tr.chosen")).to_contain_text("Reset your password")
    tab.keyboard.press("?")
    expect(tab.locator("#inbox-shortcuts")).to_be_visible()
    tab.screenshot(path=str(ARTIFACTS / "1280-shortcuts.png"))
    tab.keyboard.press("Escape")
    tab.keyboard.press("k")
    expect(tab.locator("tr.chosen")).to_contain_text("Welcome aboard")
    tab.keyboard.press("j")
    tab.keyboard.press("Enter")
    expect(tab.get_by_role("heading", name="Reset your password")).to_be_visible()
    # The heading shows before the page's last script (the shortcuts) has run: a key pressed
    # in between is lost, as it would be for a person that quick.
    tab.wait_for_load_state("load")
    tab.keyboard.press("j")
    expect(tab.get_by_role("heading", name="Your order has shipped")).to_be_visible()
    tab.get_by_role("link", name="Phone 375 px").click()
    expect(tab.locator(".mail-width-phone")).to_be_visible()
    tab.screenshot(path=str(ARTIFACTS / "1280-message-phone-preview.png"), full_page=True)
    tab.set_viewport_size({"width": 390, "height": 844})
    tab.screenshot(path=str(ARTIFACTS / "390-message.png"), full_page=True)
    tab.goto(tab.url.split("?")[0] + "?tab=attachments")
    expect(tab.locator("a.thumbnail img")).to_be_attached()
    tab.keyboard.press("/")
    expect(tab.locator("#inbox-search input[name=q]")).to_be_focused()
    tab.keyboard.type("subject:reset")
    tab.keyboard.press("Enter")
    expect(tab.locator("#inbox-table tbody tr")).to_have_count(1)
    tab.screenshot(path=str(ARTIFACTS / "390-search.png"), full_page=True)
    tab.set_viewport_size({"width": 1280, "height": 860})
    tab.goto(live_server.url + "/inbox/")
    tab.screenshot(path=str(ARTIFACTS / "1280-list.png"), full_page=True)
    tab.keyboard.press("j")
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.keyboard.press("Delete")
    expect(tab.locator("#inbox-table tbody tr")).to_have_count(2)
