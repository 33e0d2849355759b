"""Every backoffice URL, walked as a visitor, an Editor and an Administrator.

The URLs are discovered from Django's resolver, so a new screen is covered the day it is
added. Each URL must match a rule in RULES (first match wins); a URL that matches none fails
with a message saying which rule to add.

- PUBLIC: anyone may open it (never sent to log in).
- SIGNED_IN: a visitor is sent to the login page (a JSON endpoint may answer 401);
  any logged-in user may use it.
- ADMIN: as SIGNED_IN, and an Editor gets 403 (for POST, 405 also counts: the URL has no
  POST action at all).

KNOWN_GAPS lists what other apps do not enforce yet: those cases are strict xfails, so they
fail loudly the day the app is fixed, as a reminder to delete the entry.
"""

from __future__ import annotations

import fnmatch
import re
import uuid
from dataclasses import dataclass

import pytest
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, path
from django.urls.resolvers import RoutePattern

PUBLIC, SIGNED_IN, ADMIN = "public", "signed in", "administrator"

# (URL name or route glob, rule for GET, rule for POST). First match wins.
# A name is "namespace:name"; a route is matched as "path:<route>".
RULES: list[tuple[str, str, str]] = [
    # Pages for people who are not logged in.
    ("accounts:login", PUBLIC, PUBLIC),
    ("accounts:logout", PUBLIC, PUBLIC),  # logging out needs no permission
    ("accounts:setup", PUBLIC, PUBLIC),
    ("backoffice:healthz", PUBLIC, PUBLIC),
    ("backoffice:metrics", PUBLIC, PUBLIC),  # loopback or a token, never a login
    ("backoffice:favicon", PUBLIC, PUBLIC),  # a redirect to the static icon
    ("accounts:accept", PUBLIC, PUBLIC),  # invitation links
    ("accounts:password-reset*", PUBLIC, PUBLIC),
    ("path:f/*", PUBLIC, PUBLIC),  # public form pages
    ("events:webhook", PUBLIC, PUBLIC),  # providers' webhooks: a signature, not a login
    ("api:openapi", PUBLIC, PUBLIC),  # the HTTP API's description
    ("api:not-found", PUBLIC, PUBLIC),  # a JSON 404 for any other /api/ address
    ("api:*", SIGNED_IN, SIGNED_IN),  # bearer secrets, never sessions: 401 without one
    ("inbox-api:openapi", PUBLIC, PUBLIC),  # the inbox API's description
    ("inbox-api:not-found", PUBLIC, PUBLIC),  # a JSON 404 for any other inbox API address
    ("inbox-api:*", SIGNED_IN, SIGNED_IN),  # inbox tokens, never sessions: 401 without one
    # Everyone's own account page.
    ("accounts:account*", SIGNED_IN, SIGNED_IN),
    # Administrators only.
    ("accounts:*", ADMIN, ADMIN),  # the Users screen
    ("applications:*", ADMIN, ADMIN),  # the Applications screen hands out secrets
    ("health:try-settings", ADMIN, ADMIN),  # tries SMTP settings typed in: a settings action
    ("delivery:resend", ADMIN, ADMIN),  # email log actions
    ("delivery:resend-to", ADMIN, ADMIN),
    ("delivery:cancel", ADMIN, ADMIN),
    ("delivery:retry", ADMIN, ADMIN),
    ("delivery:bulk", ADMIN, ADMIN),
    ("suppressions:*", ADMIN, ADMIN),  # the suppression list
    # Everyone logged in may look; only administrators may act.
    ("backoffice:settings", ADMIN, ADMIN),  # editors never see the settings
    ("backoffice:dashboard", SIGNED_IN, SIGNED_IN),  # no POST action: the page is shown
    ("health:index", SIGNED_IN, SIGNED_IN),  # no POST action: the page is shown
    ("health:help", SIGNED_IN, SIGNED_IN),  # no POST action: the page is shown
    ("health:run", SIGNED_IN, SIGNED_IN),  # running the checks is reading their results
    ("health:action", ADMIN, ADMIN),  # a check's action (send test email)
    ("health:*", SIGNED_IN, ADMIN),  # health actions
    ("delivery:*", SIGNED_IN, ADMIN),  # the email log: read access for editors
    ("events:unmatched", SIGNED_IN, SIGNED_IN),  # no POST action: the page is shown
    # Editors' own work, and the development mail catcher.
    ("forms:*", SIGNED_IN, SIGNED_IN),
    ("inbox:*", ADMIN, ADMIN),  # caught mail holds everybody's sign-in links
]

# (URL name, visitor, method): why it is not enforced yet. Owners: delete the line when fixed.
KNOWN_GAPS: dict[tuple[str, str, str], str] = {}

LOGIN = "/login/"


@dataclass(frozen=True)
class Url:
    route: str  # e.g. "outbox/<int:pk>/resend/"
    name: str  # e.g. "delivery:resend"
    converters: dict

    def rule(self) -> tuple[str, str] | None:
        for key, get_rule, post_rule in RULES:
            if key.startswith("path:"):
                if fnmatch.fnmatchcase(self.route, key[5:]):
                    return get_rule, post_rule
            elif fnmatch.fnmatchcase(self.name, key):
                return get_rule, post_rule
        return None


def walk(resolver: URLResolver, prefix: str = "", namespace: str = "", converters=None):
    """Every URL pattern below ``resolver``, with its whole route and namespaced name."""
    converters = dict(converters or {})
    for entry in resolver.url_patterns:
        if not isinstance(entry.pattern, RoutePattern):
            raise AssertionError(
                f"{prefix}{entry.pattern} is a regular expression: teach this walker to fill it"
            )
        route = prefix + str(entry.pattern)
        found = {**converters, **entry.pattern.converters}
        if isinstance(entry, URLResolver):
            space = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from walk(entry, route, space, found)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace else (entry.name or "")
            yield Url(route, name, found)


URLS = sorted(walk(get_resolver()), key=lambda url: url.route)


# Objects that exist, so that URLs with a pk reach real rows where this test knows the model.
def sample_values(url: Url, objects: dict[str, int]) -> dict[str, str]:
    values = {}
    for name, converter in url.converters.items():
        kind = type(converter).__name__
        if kind == "IntConverter":
            key = next((k for k in objects if url.route.startswith(k) and name == "pk"), None)
            values[name] = str(objects[key]) if key else "1"
        elif kind == "UUIDConverter":
            values[name] = str(uuid.uuid4())
        else:
            values[name] = "sample"
    return values


def fill(url: Url, objects: dict[str, int]) -> str:
    values = sample_values(url, objects)
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], url.route)


@pytest.fixture
def objects(db) -> dict[str, int]:
    from django.core.mail import EmailMessage

    from postroom.accounts.models import Invitation, User
    from postroom.applications.credentials import create_application
    from postroom.delivery.enqueue import enqueue
    from postroom.inbox.models import CaughtMessage

    other = User.objects.create_user("other@example.com", None)
    message = enqueue(EmailMessage("Hello", "Body", to=["someone@example.com"]), kind="test")
    caught = CaughtMessage.from_envelope(
        "a@example.com", ["b@example.com"], b"Subject: Hi\r\n\r\nBody\r\n"
    )
    caught.save()
    invitation = Invitation.objects.create(email="new@example.com", token_hash="0" * 64)
    application, _ = create_application("Shop", ["example.org"])
    # Longest prefix first: the users/invitations/ pk is an invitation, users/<pk> a user.
    return {
        "users/invitations/": invitation.pk,
        "users/": other.pk,
        "outbox/": message.pk,
        "inbox/": caught.pk,
        "applications/": application.pk,
    }


@pytest.fixture
def people(db):
    from postroom.accounts.models import User

    admin = User.objects.create_user("boss@example.com", None, role="administrator")
    editor = User.objects.create_user("writer@example.com", None, role="editor")
    return {"administrator": admin, "editor": editor}


def client_for(visitor: str, people) -> Client:
    client = Client(raise_request_exception=False)
    if visitor != "anonymous":
        client.force_login(people[visitor])
    return client


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(f"{LOGIN}?next=")


def cases():
    for url in URLS:
        for visitor, method in (
            ("anonymous", "GET"),
            ("anonymous", "POST"),
            ("editor", "GET"),
            ("editor", "POST"),
            ("administrator", "GET"),
        ):
            gap = KNOWN_GAPS.get((url.name, visitor, method))
            marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
            yield pytest.param(
                url, visitor, method, marks=marks, id=f"{method}-{visitor}-/{url.route}"
            )


def test_every_url_has_a_rule():
    missing = [f"/{url.route} ({url.name or 'no name'})" for url in URLS if url.rule() is None]
    assert not missing, "Add a rule to RULES in this file for: " + ", ".join(missing)


def test_the_walker_finds_the_screens_of_every_app():
    names = {url.name.split(":")[0] for url in URLS}
    assert {"backoffice", "accounts", "delivery", "inbox"} <= names
    assert {"/users/", "/outbox/<int:pk>/resend/", "/login/"} <= {f"/{u.route}" for u in URLS}


def violation(expected: str, visitor: str, method: str, response) -> str | None:
    """What is wrong with ``response`` under the rule ``expected``, or None."""
    status = response.status_code
    if visitor == "anonymous":
        if expected == PUBLIC:
            if is_login_redirect(response) or status in (401, 403):
                return "a public page refused a visitor"
            return None
        if is_login_redirect(response) or status == 401:
            return None
        return "a visitor was not sent to log in"
    if visitor == "editor" and expected == ADMIN:
        allowed = (403, 405) if method == "POST" else (403,)
        return None if status in allowed else "an Editor must get 403"
    if status == 403 or is_login_redirect(response):
        return f"a logged-in {visitor} was refused"
    return None


@pytest.mark.parametrize(("url", "visitor", "method"), list(cases()))
def test_permissions_are_enforced_on_the_server(url, visitor, method, objects, people):
    rule = url.rule()
    assert rule is not None, f"no rule for /{url.route}; see test_every_url_has_a_rule"
    expected = rule[0] if method == "GET" else rule[1]
    address = fill(url, objects)
    client = client_for(visitor, people)
    response = client.get(address) if method == "GET" else client.post(address, {})
    problem = violation(expected, visitor, method, response)
    assert problem is None, (
        f"{method} {address} as {visitor} ({url.name}, rule: {expected}) "
        f"answered {response.status_code}: {problem}"
    )


def open_view(request):
    return HttpResponse("anyone can do this")


urlpatterns = [path("oops/", open_view, name="oops")]


@override_settings(ROOT_URLCONF=__name__)
def test_the_walker_catches_an_unprotected_view(people):
    editor, visitor = client_for("editor", people), client_for("anonymous", people)
    assert violation(ADMIN, "editor", "GET", editor.get("/oops/")) == "an Editor must get 403"
    assert violation(ADMIN, "editor", "POST", editor.post("/oops/")) == "an Editor must get 403"
    assert violation(SIGNED_IN, "anonymous", "GET", visitor.get("/oops/")) is not None
    assert violation(PUBLIC, "anonymous", "GET", visitor.get("/oops/")) is None


def test_the_403_page_explains_in_plain_words(people):
    client = client_for("editor", people)
    response = client.get("/users/")
    assert response.status_code == 403
    assert b"Only administrators can manage users." in response.content
    assert b"ask an administrator" in response.content


def test_the_decorator_and_the_mixin_for_other_apps(rf, people):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied
    from django.views import View

    from postroom.core.permissions import AdministratorRequiredMixin, administrator_required

    @administrator_required
    def plain(request):
        return HttpResponse("done")

    @administrator_required(reason="Only administrators can run health actions.")
    def explained(request):
        return HttpResponse("done")

    class Screen(AdministratorRequiredMixin, View):
        permission_reason = "Only administrators can open this screen."

        def get(self, request):
            return HttpResponse("done")

    for view, reason in (
        (plain, "Only administrators can open this page or do this."),
        (explained, "Only administrators can run health actions."),
        (Screen.as_view(), "Only administrators can open this screen."),
    ):
        request = rf.get("/somewhere/?x=1")
        request.user = AnonymousUser()
        refused = view(request)
        assert refused.status_code == 302
        assert refused["Location"] == "/login/?next=/somewhere/%3Fx%3D1"
        request.user = people["editor"]
        with pytest.raises(PermissionDenied, match=reason):
            view(request)
        request.user = people["administrator"]
        assert view(request).content == b"done"


@pytest.mark.parametrize("path", ["/", "/outbox/"])
def test_editors_are_not_pointed_at_settings_they_cannot_open(client, editor, path, monkeypatch):
    from django.core.mail import EmailMessage

    from postroom.delivery.enqueue import enqueue

    monkeypatch.setenv("Postroom__Delivery__GiveUpAfterHours", "3d")  # a configuration error
    if path != "/outbox/":
        enqueue(EmailMessage("Held", "Body", to=["a@example.net"]))
    client.force_login(editor)
    html = client.get(path).content.decode()
    assert 'href="/settings/"' not in html
