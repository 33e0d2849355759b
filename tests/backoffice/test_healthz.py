import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login_even_before_setup(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "parts": {}}


def _restarting_worker(client):
    from postroom.backoffice import supervisor

    class Restarting:
        def status(self):
            return {
                "web": {"state": "running", "restarts": 0, "last_error": None},
                "worker": {
                    "state": "restarting",
                    "restarts": 2,
                    "last_error": "OperationalError: could not connect to db.internal as pgadmin",
                },
            }

    supervisor.install(Restarting())
    try:
        return client.get("/healthz")
    finally:
        supervisor.install(None)


def test_healthz_says_which_part_of_serve_is_restarting(client):
    response = _restarting_worker(client)
    assert response.status_code == 200  # the backoffice itself answers
    body = response.json()
    assert body["status"] == "degraded"
    # Anyone may ask: the kind of failure, never its text (hosts, user names).
    assert body["parts"]["worker"] == {
        "state": "restarting",
        "restarts": 2,
        "last_error": "OperationalError",
    }


def test_signed_in_users_see_the_whole_error_on_healthz(admin_client):
    worker = _restarting_worker(admin_client).json()["parts"]["worker"]
    assert worker["last_error"] == "OperationalError: could not connect to db.internal as pgadmin"


def test_healthz_is_503_when_the_database_does_not_answer(client, monkeypatch):
    from postroom.backoffice import views

    class Unreachable:
        def cursor(self):
            raise OSError("disk gone")

    monkeypatch.setattr(views, "connection", Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"
