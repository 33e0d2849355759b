"""The README's inbox API example runs as written: against a real web server and catcher."""

from __future__ import annotations

import re
import secrets
import smtplib
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from emails import make_email
from postroom.inbox.server import InboxServer
from postroom.inbox.tokens import create_token

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

README = Path(__file__).parents[2] / "README.md"
EXAMPLE = re.compile(r"<!-- inbox-api-example -->\s*```python\n(.*?)```", re.DOTALL)


class SignUpSite:
    """A site under test: signing up mails a confirmation link a moment later."""

    def __init__(self, smtp_port: int) -> None:
        self.smtp_port, self.codes, self.senders = smtp_port, set(), []

    def post(self, path: str, data: dict[str, str]) -> None:
        assert path == "/signup/"
        code = secrets.token_urlsafe(8)
        self.codes.add(code)
        link = f"https://site.example/confirm/{code}"
        mail = make_email("Confirm your address", to=data["email"], text=f"Click {link}",
                          html=f'<a href="{link}">Confirm</a>')  # fmt: skip
        sender = threading.Thread(target=self._send_later, args=(mail, data["email"]))
        sender.start()
        self.senders.append(sender)

    def _send_later(self, mail, to: str) -> None:  # noqa: ANN001
        time.sleep(0.3)  # after the test has started waiting
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as smtp:
            smtp.send_message(mail, to_addrs=[to])

    def get(self, url: str) -> SimpleNamespace:
        code = url.rsplit("/", 1)[-1]
        if code in self.codes:
            return SimpleNamespace(status_code=200, text="Your address is confirmed.")
        return SimpleNamespace(status_code=404, text="Not found")


def test_the_readme_example_signs_up_and_clicks_the_emailed_link(
    live_server, tmp_path, monkeypatch
) -> None:
    [code] = EXAMPLE.findall(README.read_text())
    _, token = create_token("readme")
    monkeypatch.setenv("POSTROOM_INBOX_API", f"{live_server.url}/api/v1/inbox")
    monkeypatch.setenv("POSTROOM_INBOX_TOKEN", token)
    example: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), example)  # noqa: S102 - our own README

    with InboxServer("127.0.0.1", 0, tls_dir=tmp_path / "tls") as catcher:
        site = SignUpSite(catcher.port)
        started = time.monotonic()
        example["test_sign_up_sends_a_link_that_confirms_the_address"](site)
        took = time.monotonic() - started
        for sender in site.senders:
            sender.join(10)
    assert 0.3 <= took < 5  # it waited for the mail, and answered once it came
    assert example["inbox"]("wait", to="nobody@example.com", timeout=0) is None
