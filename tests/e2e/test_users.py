"""Backoffice users in a real browser: invitations, the Editor role, and password reset."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

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

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


@dataclass
class Running:
    url: str
    inbox_port: int
    log: Path
    env: dict[str, str]


@pytest.fixture
def shot(request):
    """``shot(tab, name)``: a screenshot of another tab than ``page`` (the invitee's, say)."""
    directory = ARTIFACTS / request.node.name
    directory.mkdir(parents=True, exist_ok=True)

    def take(tab, name: str) -> Path:
        path = directory / f"{name}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def postroom_with(tmp_path):
    """``postroom_with(**env)``: a fresh `postroom serve` started with extra environment."""
    with contextlib.ExitStack() as stack:
        processes = []

        def launch(**extra: str) -> Running:
            web, inbox = free_port(), free_port()
            database_url = stack.enter_context(fresh_database_url())
            env = postroom_env(tmp_path, database_url, **extra)
            seed_sqlite(env)  # migrated once per run (PostgreSQL: see fresh_database_url)
            log = tmp_path / "serve.log"
            process = start(["serve", "--port", str(web), "--inbox-port", str(inbox)], env, log)
            processes.append((process, log))
            wait_for_port(web, process=process)
            wait_for_port(inbox, process=process)
            return Running(f"http://127.0.0.1:{web}", inbox, log, env)

        try:
            yield launch
        finally:
            for process, log in processes:
                assert interrupt(process) == 0, log.read_text()


def link_from_inbox(page, url: str, subject: str, path: str) -> str:
    """Open the newest message with ``subject`` in the Inbox; the link to ``path`` in its text."""
    deadline = time.monotonic() + 30
    while True:
        page.goto(f"{url}/inbox/?q={subject}")
        message = page.get_by_role("link", name=subject).first
        if message.count() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    message.click()
    expect(page.get_by_role("heading", name=subject)).to_be_visible()
    page.get_by_role("tab", name="Text").click()
    text = page.locator("#tab-panel pre").inner_text()
    found = re.search(r"http://\S+" + re.escape(path) + r"\S+/", text)
    assert found, text
    return found.group(0)


def log_in(page, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_invite_an_editor_who_sets_a_password_and_meets_the_limits_of_the_role(
    browser, page, postroom, screenshot, shot
):
    set_up_administrator(page, postroom.url)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    screenshot("1-users")

    page.get_by_role("link", name="Invite a user").click()
    page.get_by_label("Email address").fill("grace@example.com")
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("Role").select_option("editor")
    page.get_by_label("Message (optional)").fill("Welcome! <b>You</b> look after the forms.")
    screenshot("2-invite")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text("Invitation sent to grace@example.com")).to_be_visible()
    expect(page.locator("#invitations-table")).to_contain_text("grace@example.com")
    screenshot("3-invitations")

    link = link_from_inbox(page, postroom.url, "You are invited to Postroom", "/invite/")
    expect(page.locator("#tab-panel pre")).to_contain_text("<b>You</b> look after the forms.")
    screenshot("4-invitation-in-inbox")
    page.get_by_role("tab", name="HTML").click()
    screenshot("5-invitation-html")

    invitee = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    invitee.set_default_timeout(15_000)
    try:
        invitee.goto(link)
        expect(invitee.get_by_role("heading", name="Join Postroom")).to_be_visible()
        invitee.goto(link)  # opening it twice (a link scanner did first) uses nothing up
        expect(invitee.get_by_label("Your name")).to_have_value("Grace Hopper")
        invitee.get_by_label("New password", exact=True).fill("cobol-compiler-1959")
        invitee.get_by_label("New password, again").fill("cobol-compiler-1959")
        shot(invitee, "6-accept")
        invitee.get_by_role("button", name="Activate my account").click()
        expect(invitee.get_by_text("Your account is ready.")).to_be_visible()
        expect(invitee.get_by_label("Email address")).to_have_value("grace@example.com")
        invitee.get_by_label("Password").fill("cobol-compiler-1959")
        invitee.get_by_role("button", name="Log in").click()
        expect(invitee.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()

        # The limits of an Editor: no user management, no test email, no email log actions.
        invitee.goto(f"{postroom.url}/users/")
        expect(invitee.get_by_role("heading", name="Not allowed")).to_be_visible()
        expect(invitee.get_by_text("Only administrators can manage users.")).to_be_visible()
        shot(invitee, "7-editor-403")
        expect(invitee.get_by_role("link", name="Settings")).to_have_count(0)
        invitee.goto(f"{postroom.url}/settings/")
        expect(invitee.get_by_role("heading", name="Not allowed")).to_be_visible()
        expect(invitee.get_by_text("Only administrators can see the settings")).to_be_visible()
        invitee.goto(f"{postroom.url}/outbox/")
        expect(invitee.get_by_role("heading", name="Email log")).to_be_visible()
        expect(invitee.get_by_role("button", name="Resend")).to_have_count(0)
    finally:
        invitee.context.close()

    # The used link now says so.
    page.goto(link)
    expect(page.get_by_text("This invitation was already used")).to_be_visible()

    page.goto(f"{postroom.url}/users/")
    expect(page.locator("#users-table")).to_contain_text("grace@example.com")
    page.get_by_role("link", name="Grace Hopper").click()
    expect(page.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    screenshot("8-user")

    page.goto(f"{postroom.url}/users/")
    page.get_by_role("link", name="Preview emails").click()
    expect(page.get_by_role("heading", name="Preview emails")).to_be_visible()
    expect(
        page.frame_locator("iframe.mail-html").get_by_text("Accept the invitation")
    ).to_be_visible()
    screenshot("9-preview")


def test_reset_a_forgotten_password_from_the_link_in_the_inbox(
    browser, page, postroom_with, screenshot, shot
):
    postroom = postroom_with(Umbraco__CMS__Security__AllowPasswordReset="true")
    set_up_administrator(page, postroom.url)
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "postroom.cli",
            "createadmin",
            "--email",
            "sam@example.com",
            "--name",
            "Sam",
            "--password-from-env",
            "SAM_PASSWORD",
        ],
        env={**postroom.env, "SAM_PASSWORD": "old-password-of-sam"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr

    contexts = [browser.new_context(viewport={"width": 1280, "height": 860}) for _ in range(2)]
    try:
        other_session, sam = (context.new_page() for context in contexts)
        for tab in (other_session, sam):
            tab.set_default_timeout(15_000)
        log_in(other_session, postroom.url, "sam@example.com", "old-password-of-sam")
        expect(other_session.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()

        sam.goto(f"{postroom.url}/login/")
        shot(sam, "0-login-with-reset")
        sam.get_by_role("link", name="Forgot password?").click()
        expect(sam.get_by_role("heading", name="Forgot your password?")).to_be_visible()
        sam.get_by_label("Email address").fill("sam@example.com")
        sam.get_by_role("button", name="Send the link").click()
        expect(sam.get_by_role("heading", name="Check your email")).to_be_visible()
        shot(sam, "1-check-email")

        link = link_from_inbox(
            page, postroom.url, "Reset your Postroom password", "/password/reset/"
        )
        page.get_by_role("tab", name="Headers").click()
        expect(page.locator("#tab-panel")).to_contain_text("Expires")
        screenshot("2-reset-email-headers")

        sam.goto(link)
        expect(sam.get_by_role("heading", name="Choose a new password")).to_be_visible()
        sam.get_by_label("New password", exact=True).fill("new-password-of-sam")
        sam.get_by_label("New password, again").fill("new-password-of-sam")
        shot(sam, "3-new-password")
        sam.get_by_role("button", name="Change my password").click()
        expect(sam.get_by_text("Your password was changed")).to_be_visible()
        sam.get_by_label("Password").fill("new-password-of-sam")
        sam.get_by_role("button", name="Log in").click()
        expect(sam.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()

        # The other session ended; the link works only once.
        other_session.reload()
        expect(other_session.get_by_role("heading", name="Log in")).to_be_visible()
        other_session.goto(link)
        expect(
            other_session.get_by_text("This password reset link was already used")
        ).to_be_visible()
    finally:
        for context in contexts:
            context.close()


def test_with_reset_switched_off_there_is_no_link_and_the_page_refuses(page, postroom, screenshot):
    set_up_administrator(page, postroom.url)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("link", name="Forgot password?")).to_have_count(0)
    screenshot("1-login-without-reset")
    response = page.goto(f"{postroom.url}/password/forgot/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Password reset is switched off")).to_be_visible()
    screenshot("2-reset-refused")
