"""`postroom serve` with no configuration at all: starts, says where things are, stops on Ctrl-C."""

import json
import sqlite3
import urllib.request

import pytest

from processes import (
    free_port,
    fresh_database_url,
    interrupt,
    postroom_env,
    start,
    wait_for_output,
    wait_for_port,
)

pytestmark = pytest.mark.slow  # every test here starts `postroom serve`


def _get(url: str) -> tuple[int, bytes, dict]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
        return response.status, response.read(), dict(response.headers)


@pytest.fixture
def database_url():
    with fresh_database_url(migrated=False) as url:  # serve migrates it
        yield url


def test_serve_runs_everything_and_stops_cleanly(tmp_path, database_url):
    web, inbox = free_port(), free_port()
    env = postroom_env(tmp_path, database_url)
    log = tmp_path / "serve.log"
    process = start(["serve", "--port", str(web), "--inbox-port", str(inbox)], env, log)
    try:
        wait_for_port(web, process=process)
        wait_for_port(inbox, process=process)
        wait_for_output(log, "Press Ctrl-C to stop.")
        status, body, headers = _get(f"http://127.0.0.1:{web}/healthz")
        assert status == 200
        health = json.loads(body)
        assert health["status"] == "ok"
        assert set(health["parts"]) == {"web", "worker", "catcher"}
        assert all(part["state"] == "running" for part in health["parts"].values())
        assert headers["Server"] == "Postroom"  # waitress, with our name
        status, body, _ = _get(f"http://127.0.0.1:{web}/static/postroom/postroom.css")
        assert status == 200 and b"--accent" in body
        status, body, _ = _get(f"http://127.0.0.1:{web}/")
        assert b"Create administrator" in body  # redirected to first-run setup
    finally:
        code = interrupt(process)
    output = log.read_text()
    assert code == 0, output
    assert f"Backoffice: http://127.0.0.1:{web}/" in output
    assert f"mail goes to the development inbox at 127.0.0.1:{inbox}" in output
    assert "Traceback" not in output
    assert "Stopped." in output
    if database_url is None:
        database = tmp_path / "data" / "postroom.sqlite3"
        assert f"SQLite at {database} (WAL)" in output
        with sqlite3.connect(database) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    else:
        assert "PostgreSQL database postroom_e2e_" in output


def test_in_production_there_is_no_catcher_and_mail_is_held(tmp_path):
    web, inbox = free_port(), free_port()
    env = postroom_env(tmp_path, None, POSTROOM_ENVIRONMENT="Production")
    log = tmp_path / "serve.log"
    process = start(["serve", "--port", str(web), "--inbox-port", str(inbox)], env, log)
    try:
        wait_for_port(web, process=process)
        wait_for_output(log, "Press Ctrl-C to stop.")
    finally:
        code = interrupt(process)
    output = log.read_text()
    assert code == 0, output
    assert "Production environment" in output
    assert "mail is held: SMTP is not configured" in output
    assert "Inbox:" not in output


def test_serve_reports_configured_smtp_and_site_option(tmp_path):
    site = tmp_path / "elsewhere"
    site.mkdir()
    (site / "appsettings.json").write_text(
        '{"Umbraco":{"CMS":{"Global":{"Smtp":{"From":"a@example.org","Host":"smtp.example.com",'
        '"Port":587,"SecureSocketOptions":"StartTls"}}}}}'
    )
    web = free_port()
    env = postroom_env(tmp_path, None)
    log = tmp_path / "serve.log"
    process = start(["serve", "--site", str(site), "--port", str(web), "--no-inbox"], env, log)
    try:
        wait_for_port(web, process=process)
        wait_for_output(log, "Press Ctrl-C to stop.")
    finally:
        code = interrupt(process)
    output = log.read_text()
    assert code == 0, output
    assert "mail goes to smtp.example.com:587 via STARTTLS" in output
    assert f"Site:      {site}" in output


def test_a_port_in_use_is_explained(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        log = tmp_path / "web.log"
        process = start(["web", "--port", str(port)], postroom_env(tmp_path, None), log)
        code = process.wait(60)
    output = log.read_text()
    assert code == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in output
    assert "Traceback" not in output


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_visitors(monkeypatch):
    from waitress.adjustments import Adjustments

    from postroom.backoffice.webserver import proxy_options

    assert proxy_options() == {}
    monkeypatch.setenv("POSTROOM_TRUSTED_PROXY", "127.0.0.1")
    adjusted = Adjustments(**proxy_options(), clear_untrusted_proxy_headers=True)
    assert adjusted.trusted_proxy == "127.0.0.1"
    assert "x-forwarded-for" in adjusted.trusted_proxy_headers
