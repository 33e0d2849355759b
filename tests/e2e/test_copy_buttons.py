"""Copy buttons (button[data-copy], wired up by postroom.js on every backoffice page): the
clipboard gets the text, and where the browser will not copy, the user is told what to do."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from e2e.steps import set_up_administrator

pytestmark = pytest.mark.browser

# Elements as the templates write them: a field, a snippet, each with its Copy button.
ELEMENTS = """
const main = document.querySelector("main") || document.body;
main.insertAdjacentHTML("beforeend", `
  <input id="t-link" value="https://example.org/invite/abc">
  <button type="button" data-copy="t-link">Copy the link</button>
  <pre id="t-snippet">&lt;smtp from="site@example.org" /&gt;</pre>
  <button type="button" data-copy="t-snippet" data-copy-status="t-status">Copy</button>
  <p id="t-status" role="status"></p>
  <span id="t-link-copied"></span>`);
"""


@pytest.fixture
def dashboard(page, postroom):
    set_up_administrator(page, postroom.url)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=postroom.url)
    page.evaluate(f"() => {{ {ELEMENTS} }}")
    return page


def test_a_field_and_a_snippet_are_copied_and_the_page_says_so(dashboard):
    page = dashboard
    page.get_by_role("button", name="Copy the link").click()
    expect(page.locator("#t-link-copied")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == "https://example.org/invite/abc"
    expect(page.locator("button[data-copy=t-link]")).to_have_text("Copied")
    expect(page.locator("button[data-copy=t-link]")).to_have_text("Copy the link", timeout=5000)

    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.locator("#t-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == '<smtp from="site@example.org" />'


def test_without_the_clipboard_api_the_text_is_copied_the_old_way(dashboard):
    page = dashboard
    page.evaluate("() => { navigator.clipboard.writeText = () => Promise.reject(new Error()); }")
    page.get_by_role("button", name="Copy the link").click()
    expect(page.locator("#t-link-copied")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == "https://example.org/invite/abc"


def test_where_nothing_can_copy_the_text_is_left_selected_for_ctrl_c(dashboard):
    page = dashboard
    page.evaluate(
        "() => { navigator.clipboard.writeText = () => Promise.reject(new Error('no'));"
        " document.execCommand = () => false; }"
    )
    page.get_by_role("button", name="Copy the link").click()
    expect(page.locator("#t-link-copied")).to_have_text("Press Ctrl+C to copy.")
    expect(page.locator("button[data-copy=t-link]")).to_have_text("Copy the link")
    selected = page.evaluate(
        "[document.activeElement.id, document.activeElement.selectionStart,"
        " document.activeElement.selectionEnd]"
    )
    assert selected == ["t-link", 0, len("https://example.org/invite/abc")]

    page.get_by_role("button", name="Copy", exact=True).click()  # a snippet, not a field
    expect(page.locator("#t-status")).to_have_text("Press Ctrl+C to copy.")
    assert page.evaluate("String(window.getSelection())") == '<smtp from="site@example.org" />'


def test_focus_stays_on_the_button_and_a_second_copy_is_announced_again(dashboard):
    page = dashboard
    page.evaluate("() => { navigator.clipboard.writeText = () => Promise.reject(new Error()); }")
    button = page.get_by_role("button", name="Copy", exact=True)
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#t-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("document.activeElement.dataset.copy") == "t-snippet"
    page.evaluate(
        "() => { window.announced = [];"
        " new MutationObserver(() => window.announced.push(document.getElementById('t-status')"
        ".textContent)).observe(document.getElementById('t-status'), {childList: true}); }"
    )
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.announced.includes('Copied to the clipboard.')")
    assert page.evaluate("window.announced[0]") == ""  # emptied first: read out again
