"""In a browser: a message's HTML frame is as tall as the mail, and the mail still cannot run
anything (the frame is sandboxed without scripts)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest
from playwright.sync_api import expect

from e2e.steps import set_up_administrator

ROWS = 60  # about 1,800 px of mail: far taller than the frame's CSS height of 480 px


def _send_tall_mail(port: int) -> None:
    message = EmailMessage()
    message["From"] = "shop@example.com"
    message["To"] = "b@example.net"
    message["Subject"] = "Tall"
    message.set_content("A tall message.")
    rows = "".join(f'<p style="margin:0;height:30px">Row {n}</p>' for n in range(ROWS))
    message.add_alternative(
        f"<div>{rows}<p id='last'>The end</p></div>"
        "<script>document.body.setAttribute('data-ran', 'yes')</script>"
        "<img src=x onerror=\"document.body.setAttribute('data-ran', 'yes')\">",
        subtype="html",
    )
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


@pytest.mark.timeout(120)
def test_the_html_frame_fits_the_mail_and_runs_nothing(page, postroom, screenshot):
    set_up_administrator(page, postroom.url)
    _send_tall_mail(postroom.inbox_port)
    page.goto(postroom.url + "/inbox/")
    page.get_by_role("link", name="Tall").first.click()
    frame = page.locator("iframe.mail-html")
    expect(frame).to_be_visible()
    content = page.frame_locator("iframe.mail-html")
    expect(content.locator("#last")).to_have_text("The end")
    page.wait_for_function(
        "document.querySelector('iframe.mail-html').getBoundingClientRect().height > 1700"
    )
    inner = frame.evaluate("f => f.contentDocument.body.getBoundingClientRect().height")
    outer = frame.evaluate("f => f.getBoundingClientRect().height")
    assert abs(outer - inner) < 40  # no scroll bar inside, no empty band below
    assert frame.evaluate("f => f.contentDocument.body.getAttribute('data-ran')") is None
    screenshot("tall-mail-1280")
