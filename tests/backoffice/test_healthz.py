import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login_even_before_setup(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "parts": {}}


def test_healthz_says_which_part_of_serve_is_restarting(client):
    from postroom.backoffice import supervisor

    class Restarting:
        def status(self):
            return {
                "web": {"state": "running", "restarts": 0, "last_error": None},
                "worker": {"state": "restarting", "restarts": 2, "last_error": "OSError: boom"},
            }

    supervisor.install(Restarting())
    try:
        response = client.get("/healthz")
    finally:
        supervisor.install(None)
    assert response.status_code == 200  # the backoffice itself answers
    body = response.json()
    assert body["status"] == "degraded"
    assert body["parts"]["worker"] == {
        "state": "restarting",
        "restarts": 2,
        "last_error": "OSError: boom",
    }


def test_healthz_is_503_when_the_database_does_not_answer(client, monkeypatch):
    from postroom.backoffice import views

    class Unreachable:
        def cursor(self):
            raise OSError("disk gone")

    monkeypatch.setattr(views, "connection", Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"
