"""Browser tests: Playwright driving Debian's Chromium against a real `postroom serve`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from processes import (
    free_port,
    fresh_database_url,
    interrupt,
    postroom_env,
    seed_sqlite,
    start,
    wait_for_port,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


class Postroom:
    def __init__(self, url: str, inbox_port: int, log: Path) -> None:
        self.url = url
        self.inbox_port = inbox_port
        self.log = log


@pytest.fixture
def postroom(tmp_path):
    """A fresh Postroom with no configuration at all, as `postroom serve` runs it."""
    web, inbox = free_port(), free_port()
    with fresh_database_url() as database_url:
        log = tmp_path / "serve.log"
        env = postroom_env(tmp_path, database_url)
        seed_sqlite(env)  # migrated once per run (PostgreSQL: see fresh_database_url)
        process = start(["serve", "--port", str(web), "--inbox-port", str(inbox)], env, log)
        try:
            wait_for_port(web, process=process)
            wait_for_port(inbox, process=process)
            yield Postroom(f"http://127.0.0.1:{web}", inbox, log)
        finally:
            assert interrupt(process) == 0, log.read_text()


@pytest.fixture
def screenshot(page, request):
    directory = ARTIFACTS / request.node.name
    directory.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = directory / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
