import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login_even_before_setup(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
