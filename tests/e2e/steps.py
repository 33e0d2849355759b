"""Steps that many browser tests share."""

from __future__ import annotations

from playwright.sync_api import expect

ADMIN = ("Ada Lovelace", "ada@example.com", "analytical-engine")  # name, email, password


def set_up_administrator(page, url: str, *, visit: bool = True) -> None:
    """First run: create the administrator on the set-up page (opened from ``url``, where a
    new Postroom sends everyone, unless the page is there already); ends on the dashboard."""
    name, email, password = ADMIN
    if visit:
        page.goto(url)
        expect(page).to_have_url(f"{url}/setup/")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password, again").fill(password)
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
