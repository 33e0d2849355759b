"""Security headers: a Content-Security-Policy with no inline script on every page, no framing
but by Postroom itself, and HSTS where cookies are HTTPS-only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from security.routes import all_routes, fill

SRC = Path(__file__).resolve().parents[2] / "src" / "postroom"
CSP = "Content-Security-Policy"


def directives(response) -> dict[str, str]:
    policy = response[CSP]
    parts = [part.strip().split(None, 1) for part in policy.split(";") if part.strip()]
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


@pytest.mark.django_db
def test_every_page_carries_a_policy_without_inline_script(admin_client, rows):
    seen = 0
    for route in all_routes():
        url = fill(route, rows.values_for(route))
        response = admin_client.get(url)
        assert CSP in response, url
        policy = directives(response)
        if "sandbox" in policy:
            # Message bodies and downloads: their own, stricter policy (no script at all).
            assert policy["default-src"] == "'none'", url
            continue
        if response.get("X-Frame-Options") == "SAMEORIGIN":  # the form preview
            assert policy["frame-ancestors"] == "'self'" and policy["script-src"] == "'self'", url
            continue
        seen += 1
        assert policy["script-src"] == "'self'", url
        assert policy["style-src"] == "'self'", url
        assert policy["frame-ancestors"] == "'none'", url
        assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'", url
        assert response["X-Frame-Options"] == "DENY", url
    assert seen > 40


@pytest.mark.django_db
def test_pages_before_login_carry_the_policy_too(client, administrator):
    for url in ("/login/", "/password/forgot/", "/f/no-such-form/", "/no-such-page/"):
        response = client.get(url)
        assert "frame-ancestors 'none'" in response[CSP], url


@pytest.mark.django_db
def test_debug_error_pages_keep_their_inline_styles(client, administrator, settings):
    settings.DEBUG = True
    assert CSP not in client.get("/no-such-page/")  # Django's technical 404, development only
    assert CSP in client.get("/login/")


@pytest.mark.django_db
def test_the_frame_for_a_message_body_may_be_framed_by_postroom_only(admin_client, rows):
    pk = rows.pk_by_prefix["/outbox/"]
    page = admin_client.get(f"/outbox/{pk}/")
    frame = admin_client.get(f"/outbox/{pk}/html/")
    assert "frame-src 'self'" in page[CSP]
    assert frame[CSP].startswith("sandbox allow-same-origin; default-src 'none'; script-src 'none'")
    assert frame["X-Frame-Options"] == "SAMEORIGIN"


# -- templates: no inline script, handler or style anywhere ----------------------------------

# Email bodies are not pages: they are shown in sandboxed frames with their own policy.
EMAIL_TEMPLATES = re.compile(r"/templates/\w+/email/")
# The embed snippet is HTML for *other* sites; on Postroom's pages it is shown as escaped text.
FOR_OTHER_SITES = {"forms/templates/forms/snippet.html"}
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<[^>]*\sstyle\s*=|<style\b", re.IGNORECASE)
JS_URL = re.compile(r"(?:href|src|action)\s*=\s*[\"']?\s*javascript:", re.IGNORECASE)


def page_templates() -> list[Path]:
    found = []
    paths = [*SRC.rglob("templates/**/*.html"), *SRC.rglob("templates/**/*.svg")]
    for path in sorted(paths):
        relative = path.relative_to(SRC).as_posix()
        if EMAIL_TEMPLATES.search("/" + relative) or relative in FOR_OTHER_SITES:
            continue
        found.append(path)
    return found


def test_no_template_holds_inline_script_handlers_or_styles():
    templates = page_templates()
    assert len(templates) > 40
    offenders = []
    for path in templates:
        text = path.read_text()
        for name, pattern in [
            ("inline <script>", INLINE_SCRIPT),
            ("on...= handler", HANDLER),
            ("inline style", INLINE_STYLE),
            ("javascript: URL", JS_URL),
        ]:
            offenders += [f"{path.relative_to(SRC)}: {name}" for _ in pattern.finditer(text)]
    assert offenders == []


def test_the_template_check_finds_what_it_looks_for():
    assert INLINE_SCRIPT.search("<p>x</p><script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/a.js"></script>')
    assert not INLINE_SCRIPT.search('<script id="d" type="application/json">{}</script>')
    assert HANDLER.search('<form method="post"\n  onsubmit="return confirm(1)">')
    assert INLINE_STYLE.search('<div class="card" style="max-width:640px">')
    assert JS_URL.search('<a href="javascript:void(0)">')


# -- HSTS ----------------------------------------------------------------------------------


def settings_value(name: str, **env: str) -> str:
    """A value of postroom.settings as a fresh process computes it from ``env``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POSTROOM_")}
    environment |= {"POSTROOM_SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": "postroom.settings"}
    environment |= env
    code = f"from django.conf import settings; print(settings.{name})"
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("env", "hsts"),
    [
        ({"POSTROOM_ENVIRONMENT": "Production"}, "31536000"),
        ({"POSTROOM_ENVIRONMENT": "Production", "POSTROOM_SECURE_COOKIES": "false"}, "0"),
        ({"POSTROOM_ENVIRONMENT": "Development"}, "0"),
        ({"POSTROOM_ENVIRONMENT": "Development", "POSTROOM_SECURE_COOKIES": "true"}, "31536000"),
    ],
)
def test_hsts_goes_with_secure_cookies(tmp_path, env, hsts):
    env |= {"POSTROOM_SITE": str(tmp_path), "POSTROOM_DATA": str(tmp_path / "data")}
    assert settings_value("SECURE_HSTS_SECONDS", **env) == hsts


@pytest.mark.django_db
def test_https_responses_carry_hsts_when_cookies_are_secure(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SESSION_COOKIE_SECURE = True
    response = client.get("/healthz", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/healthz")  # not over plain HTTP
