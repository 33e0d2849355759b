"""The Applications screen in a real browser, at 1280 px and 390 px: create, see the secret
once, use it with the API, rotate."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from e2e.steps import set_up_administrator

pytestmark = pytest.mark.browser


def _api_get(url: str, secret: str) -> dict:
    request = urllib.request.Request(  # noqa: S310 (loopback)
        url, headers={"Authorization": f"Bearer {secret}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def _api_send(url: str, secret: str) -> int:
    body = {"from": "shop@example.org", "to": "ann@example.net", "subject": "Hi", "text": "x"}
    request = urllib.request.Request(  # noqa: S310 (loopback)
        f"{url}/api/v1/messages",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_create_use_and_rotate_an_application(postroom, page, screenshot):
    set_up_administrator(page, postroom.url)
    page.get_by_role("navigation").get_by_role("link", name="Applications").click()
    screenshot("list-empty")
    page.get_by_role("link", name="Add an application").first.click()
    page.get_by_label("Name").fill("Shop")
    page.get_by_label("Allowed senders").fill("example.org")
    screenshot("create")
    page.get_by_role("button", name="Create the application").click()
    expect(page.get_by_role("heading", name="Shop: secret created")).to_be_visible()
    secret = page.get_by_label("Secret (SMTP password").input_value()
    assert secret.startswith("pr_")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=postroom.url)
    page.get_by_role("button", name="Copy the secret").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    expect(page.locator("#app-secret-copied")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshot("secret-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("secret-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    assert _api_send(postroom.url, secret) == 202
    # `serve` delivers it (to the development inbox) and the status API says so.
    status_url = f"{postroom.url}/api/v1/messages/1"
    deadline = time.monotonic() + 20
    while (status := _api_get(status_url, secret))["status"] != "sent":
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert status["recipients"] == [{"address": "ann@example.net", "outcome": "accepted"}]
    assert status["attempts"][0]["succeeded"]
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_text("1 message in the email log")).to_be_visible()
    screenshot("detail-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 860})
    screenshot("detail-1280")

    page.get_by_label("The old secret keeps working for").select_option(
        label="Stop the old secret now"
    )
    page.get_by_role("button", name="Rotate: make a new secret").click()
    new = page.get_by_label("Secret (SMTP password").input_value()
    assert new != secret
    assert _api_send(postroom.url, secret) == 401
    assert _api_send(postroom.url, new) == 202

    page.goto(f"{postroom.url}/applications/")
    screenshot("list")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("list-390")
