"""404 pages in the style of the rest, and a favicon on every page."""

import pytest

pytestmark = pytest.mark.django_db

FAVICON = 'rel="icon" href="/static/postroom/favicon.svg"'


def test_a_missing_backoffice_page_is_designed_and_offers_a_way_on(admin_client):
    response = admin_client.get("/outbox/999999/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in html
    assert 'href="/outbox/"' in html and FAVICON in html
    assert 'aria-label="Main"' in html  # inside the backoffice shell


def test_a_missing_page_for_a_visitor_offers_to_log_in(client, administrator):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and 'href="/login/"' in html


def test_a_missing_public_form_looks_like_a_form_page(client, administrator):
    response = client.get("/f/no-such-form/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "This form is not here" in html
    assert "forms/public.css" in html and FAVICON in html
    assert "/login/" not in html  # visitors of a form are not backoffice users


def test_public_form_pages_have_the_favicon(client, administrator):
    from postroom.forms import builder

    form = builder.create_form("Contact us", administrator)
    assert FAVICON in client.get(f"/f/{form.slug}/").content.decode()


def test_favicon_ico_leads_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("/static/postroom/favicon.svg")
