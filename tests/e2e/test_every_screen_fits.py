"""Every screen fits a phone (390 px) and a laptop (1280 px): no page scrolls sideways.

The test builds a little of everything through the browser (an administrator, a test email, a
form with an entry, an invitation, an Editor), then opens every screen at both widths and checks
``document.documentElement.scrollWidth <= innerWidth``. A wide table must fit too (stacked rows
on a phone): one that scrolls inside its own box hides columns and counts as a failure.

A full-page screenshot of each screen at each width is kept in
``test-artifacts/e2e/test_every_screen_fits_a_phone_and_a_laptop/<width>-<screen>.png`` (the
folder is ignored by git): look at them after changing a template or the stylesheet.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import Postroom
from e2e.steps import set_up_administrator
from processes import (
    free_port,
    fresh_database_url,
    interrupt,
    postroom_env,
    seed_sqlite,
    start,
    wait_for_port,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EDITOR = ("Grace Hopper", "grace@example.com", "cobol-compiler-1959")
WIDTHS = (390, 1280)
HEIGHT = 844

# What sticks out: the page's width and the outermost elements that reach past the window.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const culprits = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 0.5) continue;
    if (el.parentElement && el.parentElement.getBoundingClientRect().right > width + 0.5) continue;
    const classes = typeof el.className === "string" ? el.className.trim() : "";
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
      + (classes ? "." + classes.split(/\\s+/).join(".") : "");
    culprits.push(name + " right=" + Math.round(box.right));
    if (culprits.length >= 6) break;
  }
  for (const wrap of document.querySelectorAll(".table-wrap")) {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      culprits.push("a table cut off at " + wrap.clientWidth + " of " + wrap.scrollWidth + " px");
    }
  }
  const scroll = culprits.length ? Math.max(width + 1, document.documentElement.scrollWidth)
    : document.documentElement.scrollWidth;
  return {scroll: scroll, inner: width, culprits: culprits};
}"""


class Sweep:
    """Opens screens at both widths, keeps a screenshot of each, and collects what overflows."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problems: list[str] = []
        self.seen: list[str] = []

    def check(self, tab, name: str) -> None:
        for width in WIDTHS:
            tab.set_viewport_size({"width": width, "height": HEIGHT})
            tab.wait_for_load_state("load")
            measured = tab.evaluate(OVERFLOW)
            tab.screenshot(path=str(self.directory / f"{width}-{name}.png"), full_page=True)
            self.seen.append(f"{width}-{name}")
            if measured["scroll"] > measured["inner"]:
                self.problems.append(
                    f"{name} at {width} px is {measured['scroll']} px wide: "
                    + ", ".join(measured["culprits"])
                )

    def visit(self, tab, url: str, name: str, status: int = 200) -> None:
        response = tab.goto(url)
        assert response is not None and response.status == status, (name, url, response.status)
        self.check(tab, name)


@pytest.fixture
def sweep(request):
    directory = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e" / request.node.name
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.png"):
        old.unlink()
    return Sweep(directory)


@pytest.fixture
def postroom(tmp_path):
    """`postroom serve` as conftest starts it, with password reset switched on (its pages too)."""
    web, inbox = free_port(), free_port()
    with fresh_database_url() as database_url:
        log = tmp_path / "serve.log"
        env = postroom_env(
            tmp_path, database_url, Umbraco__CMS__Security__AllowPasswordReset="true"
        )
        seed_sqlite(env)  # migrated once per run (PostgreSQL: see fresh_database_url)
        process = start(["serve", "--port", str(web), "--inbox-port", str(inbox)], env, log)
        try:
            wait_for_port(web, process=process)
            wait_for_port(inbox, process=process)
            yield Postroom(f"http://127.0.0.1:{web}", inbox, log)
        finally:
            assert interrupt(process) == 0, log.read_text()


def new_tab(browser):
    tab = browser.new_context(viewport={"width": WIDTHS[-1], "height": HEIGHT}).new_page()
    tab.set_default_timeout(15_000)
    return tab


def href(tab, selector: str) -> str:
    link = tab.locator(selector).first
    expect(link).to_be_attached()
    return link.get_attribute("href")


def newest_in_inbox(tab, url: str, subject: str) -> None:
    """Opens the newest caught message with ``subject`` (the worker may still be sending it)."""
    deadline = time.monotonic() + 30
    while True:
        tab.goto(f"{url}/inbox/?q={subject}")
        message = tab.get_by_role("link", name=subject).first
        if message.count() or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    message.click()
    expect(tab.get_by_role("heading", name=subject)).to_be_visible()


@pytest.mark.timeout(300)
def test_every_screen_fits_a_phone_and_a_laptop(browser, postroom, sweep):
    url = postroom.url
    admin = new_tab(browser)
    # First run: the set-up page, then the administrator it creates.
    sweep.visit(admin, url + "/setup/", "setup")
    set_up_administrator(admin, url, visit=False)

    # Some mail: a test email, and a form whose entry sends two more.
    admin.goto(url + "/settings/")
    admin.get_by_label("Send a test email to").fill("someone.with.a.long.address@example.net")
    admin.get_by_role("button", name="Send test email").click()
    expect(admin.get_by_text("Delivered to the development inbox")).to_be_visible(timeout=30_000)
    sweep.check(admin, "settings-test-sent")

    admin.goto(url + "/forms/new/")
    sweep.check(admin, "form-new")
    admin.get_by_label("Name").fill("Contact us")
    admin.get_by_role("button", name="Create form").click()
    expect(admin.frame_locator("#preview").get_by_label("Email")).to_be_visible()
    form_url = admin.url.split("?")[0].rstrip("/")
    sweep.check(admin, "form-build")

    visitor = new_tab(browser)
    sweep.visit(visitor, url + "/f/contact-us/", "public-form")
    shown_at = time.monotonic()
    visitor.get_by_label("Name").fill("Grace Hopper")
    visitor.get_by_label("Email").fill("grace@example")  # the browser lets it pass; the server not
    visitor.get_by_label("Message").fill("A long message " * 40)
    visitor.get_by_role("button", name="Send").click()
    expect(visitor.get_by_role("alert").first).to_be_visible()
    sweep.check(visitor, "public-form-errors")
    visitor.get_by_label("Email").fill("grace@example.com")
    time.sleep(max(0.0, 3.2 - (time.monotonic() - shown_at)))  # the minimum time to fill in
    visitor.get_by_role("button", name="Send").click()
    expect(visitor).to_have_url(re.compile(r"/thanks/$"))
    sweep.check(visitor, "public-thanks")

    # An invitation, accepted: an Editor who meets a 403.
    admin.goto(url + "/users/invite/")
    sweep.check(admin, "user-invite")
    admin.get_by_label("Email address").fill(EDITOR[1])
    admin.get_by_label("Name").fill(EDITOR[0])
    admin.get_by_label("Role").select_option("editor")
    admin.get_by_role("button", name="Send the invitation").click()
    expect(admin.get_by_text(f"Invitation sent to {EDITOR[1]}")).to_be_visible()
    newest_in_inbox(admin, url, "You are invited to Postroom")
    admin.get_by_role("tab", name="Text").click()
    found = re.search(r"http://\S+/invite/\S+/", admin.locator("#tab-panel pre").inner_text())
    assert found
    invite_link = found.group(0)

    editor = new_tab(browser)
    sweep.visit(editor, url + "/login/", "login")
    sweep.visit(editor, url + "/password/forgot/", "password-forgot")
    editor.get_by_label("Email address").fill("nobody.in.particular@example.com")
    editor.get_by_role("button").last.click()
    expect(editor).to_have_url(re.compile(r"/password/forgot/sent/"))
    sweep.check(editor, "password-forgot-sent")
    sweep.visit(editor, url + "/password/reset/not-a-real-token/", "password-link-problem", 404)
    sweep.visit(editor, invite_link, "invitation-accept")
    editor.get_by_label("New password", exact=True).fill(EDITOR[2])
    editor.get_by_label("New password, again").fill(EDITOR[2])
    editor.get_by_role("button", name="Activate my account").click()
    expect(editor.get_by_text("Your account is ready.")).to_be_visible()
    sweep.visit(editor, invite_link, "invitation-used-410", 410)
    editor.goto(url + "/login/")
    editor.get_by_label("Email address").fill(EDITOR[1])
    editor.get_by_label("Password").fill(EDITOR[2])
    editor.get_by_role("button", name="Log in").click()
    expect(editor.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    sweep.check(editor, "dashboard-editor")
    sweep.visit(editor, url + "/users/", "forbidden-403", 403)

    # A pending invitation, so that the Invitations list has a row.
    admin.goto(url + "/users/invite/")
    admin.get_by_label("Email address").fill("charles.babbage@difference-engine.example.org")
    admin.get_by_label("Name").fill("Charles Babbage")
    admin.get_by_role("button", name="Send the invitation").click()
    expect(admin.get_by_text("Invitation sent to charles.babbage")).to_be_visible()

    # A second visitor starts typing now; their form is closed before they send it (below).
    late = new_tab(browser)
    late.goto(url + "/f/contact-us/")
    late.get_by_label("Name").fill("Late visitor")
    late.get_by_label("Email").fill("late@example.com")
    late.get_by_label("Message").fill("Hello")

    # Every backoffice screen, as the administrator.
    for path, screen in [
        ("/", "dashboard"),
        ("/settings/", "settings"),
        ("/inbox/", "inbox"),
        ("/inbox/tokens/", "inbox-tokens"),
        ("/outbox/", "email-log"),
        ("/forms/", "forms"),
        ("/users/", "users"),
        ("/users/invitations/", "invitations"),
        ("/users/emails/", "user-emails"),
        ("/health/", "health"),
        ("/health/try/", "try-settings"),
        ("/health/help/", "health-help"),
    ]:
        sweep.visit(admin, url + path, screen)

    # On a phone the navigation folds behind a Menu button that works by keyboard.
    admin.set_viewport_size({"width": 390, "height": HEIGHT})
    admin.goto(url + "/")
    nav = admin.get_by_role("navigation", name="Main")
    menu = nav.get_by_role("button", name="Menu")
    expect(nav.get_by_role("link", name="Settings")).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    admin.keyboard.press("Tab")  # the skip link
    admin.keyboard.press("Tab")  # the brand
    admin.keyboard.press("Tab")
    expect(menu).to_be_focused()
    admin.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Settings")).to_be_visible()
    admin.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="Dashboard")).to_be_focused()
    admin.screenshot(path=str(sweep.directory / "390-menu-open.png"), full_page=True)
    admin.keyboard.press("Escape")
    expect(menu).to_be_focused()
    expect(nav.get_by_role("link", name="Settings")).to_be_hidden()
    admin.set_viewport_size({"width": 1280, "height": HEIGHT})
    expect(menu).to_be_hidden()
    expect(nav.get_by_role("link", name="Settings")).to_be_visible()

    admin.goto(url + "/inbox/")
    admin.locator("#inbox-table a, table a").first.click()
    sweep.check(admin, "inbox-message")
    admin.goto(url + "/outbox/")
    admin.locator("#log-table a[href^='/outbox/']").first.click()
    sweep.check(admin, "email-log-message")
    admin.goto(url + "/users/")
    admin.locator("table a[href^='/users/']").first.click()
    sweep.check(admin, "user")
    admin.goto(url + "/users/")
    admin.locator("#users-table a", has_text=EDITOR[0]).click()
    sweep.check(admin, "user-editor")
    admin.get_by_role("link", name="Delete…").first.click()
    sweep.check(admin, "user-delete")

    admin.goto(url + "/health/")
    admin.get_by_role("button", name="Run all checks").click()
    expect(admin.locator("table.steps").first).to_be_visible(timeout=30_000)
    sweep.check(admin, "health-results")

    sweep.visit(admin, form_url + "/", "form-build")
    admin.locator("#field-list a[href*='/fields/']").first.click()
    sweep.check(admin, "form-field")
    sweep.visit(admin, form_url + "/fields/new/?kind=text", "form-field-new")
    sweep.visit(admin, form_url + "/workflows/", "form-workflows")
    admin.locator("table a[href*='/workflows/']").first.click()
    sweep.check(admin, "form-workflow")
    sweep.visit(admin, form_url + "/workflows/new/", "form-workflow-new")
    sweep.visit(admin, form_url + "/entries/", "form-entries")
    admin.locator("table a[href*='/entries/']").first.click()
    sweep.check(admin, "form-entry")
    sweep.visit(admin, form_url + "/settings/", "form-settings")
    sweep.visit(admin, form_url + "/embed/", "form-embed")
    sweep.visit(admin, form_url + "/delete/", "form-delete")

    # Screens added since: your own account, applications, suppressions, unmatched events, 404s.
    for path, name in (
        ("/account/", "account"),
        ("/applications/", "applications"),
        ("/applications/new/", "application-new"),
        ("/suppressions/", "suppressions"),
        ("/events/unmatched/", "events-unmatched"),
    ):
        sweep.visit(admin, url + path, name)
    sweep.visit(admin, url + "/no-such-page/", "not-found-404", 404)
    sweep.visit(visitor, url + "/f/no-such-form/", "public-not-found-404", 404)

    # The late visitor's form was closed while they typed: they are refused.
    admin.goto(form_url + "/settings/")
    admin.get_by_label("Accepting entries").uncheck()
    admin.get_by_role("button", name="Save settings").click()
    late.get_by_role("button", name="Send").click()
    expect(late.get_by_text("Not sent.")).to_be_visible()
    sweep.check(late, "public-refused-403")
    sweep.visit(visitor, url + "/f/contact-us/", "public-form-closed")

    # Removing a field the workflows use: a page names them; afterwards they are marked broken.
    admin.goto(form_url + "/")
    admin.get_by_role("button", name="Remove Email").click()
    expect(admin.locator("#workflows-using")).to_contain_text("Email ada@example.com")
    sweep.check(admin, "form-field-remove")
    admin.get_by_role("button", name="Remove the field").click()
    expect(admin.locator("#workflows-broken")).to_be_visible()
    sweep.check(admin, "form-workflows-broken")

    assert not sweep.problems, "\n".join(sweep.problems)
    assert len(sweep.seen) >= 2 * 35
