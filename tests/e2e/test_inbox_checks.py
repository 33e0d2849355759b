"""In a browser: a caught message's checks, and an email log that keeps itself current."""

from __future__ import annotations

import re
import smtplib
import threading
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from e2e.steps import set_up_administrator


class _Links(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self.send_response(200 if self.path == "/ok" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def links_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Links)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _send(port: int, links: str) -> None:
    message = EmailMessage()
    message["From"] = "shop@example.com"
    message["To"] = "b@example.net"
    message["Subject"] = "Order"
    message.set_content(f"Track it: {links}/ok")
    message.add_alternative(
        f'<div style="display:flex"><a href="{links}/ok">Track</a>'
        f'<a href="{links}/gone">Old</a><img src="{links}/logo.png"></div>',
        subtype="html",
    )
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


@pytest.mark.timeout(180)
def test_checks_release_and_a_live_email_log(page, postroom, links_server, screenshot):
    set_up_administrator(page, postroom.url)
    _send(postroom.inbox_port, links_server)

    page.goto(postroom.url + "/inbox/")
    page.get_by_role("link", name="Order").first.click()
    page.get_by_role("link", name="HTML and link checks").click()
    expect(page.locator('[data-finding="flexbox-grid"]')).to_contain_text("Flexbox or grid")
    expect(page.locator('[data-finding="image-without-alt"]')).to_be_visible()
    page.get_by_role("button", name="Check 3 web links").click()
    expect(page.locator("#check-summary")).to_contain_text("2 of 3 web links")
    expect(page.locator("#links")).to_contain_text("200")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 860})
        screenshot(f"checks-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.get_by_role("link", name=re.compile("Order")).first.click()
    page.get_by_role("link", name="Release…").click()
    expect(page.locator("#release-refused")).to_contain_text("No SMTP server is configured")
    screenshot("release-refused-390")

    # The email log, open in one tab, shows a test email sent from another, keeping the tick.
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(postroom.url + "/settings/")
    page.get_by_label("Send a test email to").fill("first@example.net")
    page.get_by_role("button", name="Send test email").click()
    expect(page.get_by_text("Delivered to the development inbox")).to_be_visible(timeout=30_000)
    page.goto(postroom.url + "/outbox/")
    first = page.locator('#log-rows input[name="ids"]').first
    first.check()
    other = page.context.new_page()
    other.goto(postroom.url + "/settings/")
    other.get_by_label("Send a test email to").fill("second@example.net")
    other.get_by_role("button", name="Send test email").click()
    expect(page.locator("#log-rows tr")).to_have_count(2, timeout=20_000)
    expect(page.locator("#log-live")).to_contain_text("1 new message")
    expect(page.locator("[data-shows-range]").first).to_have_text("1–2 of 2")
    assert page.locator('#log-rows input[name="ids"]:checked').count() == 1
    expect(page.locator("#log-rows")).to_contain_text("second@example.net")
    expect(page.locator("#log-rows time").first).to_have_attribute("title", re.compile("UTC"))
    screenshot("log-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("log-390")
    page.get_by_role("link", name="Postroom test email").first.click()
    expect(page.locator("#resend-to")).to_be_visible()
    screenshot("message-resend-to-390")
