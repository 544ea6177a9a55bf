"""The application: GET /api/info, the database file, and the settings."""

import sqlite3
import threading
from contextlib import closing

import pytest

from forwarding import config, create_app
from forwarding.db import get_repo
from tests.helpers import assert_error, assert_json, item, push, result, wrong_type


def test_info(client):
    response = client.get("/api/info")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["device_model", "firmware_version", "api_version", "device_serial_number"]
    assert body["api_version"] == "2.9.0"
    assert all(type(value) is str and value for value in body.values())


def serial(app):
    return app.test_client().get("/api/info").get_json()["device_serial_number"]


def test_the_serial_is_made_once_and_kept(make_app, tmp_path):
    fresh = str(tmp_path / "new" / "forwarding.db")
    first = serial(make_app(DATABASE=fresh))
    assert serial(make_app(DATABASE=fresh)) == first  # another worker, or a restart
    assert serial(make_app()) != first  # another device


def test_the_serial_can_be_configured(make_app):
    stored = serial(make_app())
    assert serial(make_app(DEVICE_SERIAL="BAS-0001")) == "BAS-0001"
    assert serial(make_app()) == stored


def test_the_database_is_created_on_first_start(make_app, tmp_path):
    path = tmp_path / "a" / "b" / "forwarding.db"
    make_app(DATABASE=str(path))
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        account = db.execute("SELECT username, password_hash, is_default FROM account").fetchone()
    username, password_hash, is_default = account
    assert (username, is_default) == ("admin", 1)
    assert password_hash.split(":")[0] == "scrypt"  # salted and slow


def test_a_first_start_waits_for_another_worker_holding_the_new_file(make_app, tmp_path):
    """uWSGI's workers start together on a new file: one may hold its write lock while another
    switches it to WAL, which SQLite then refuses at once, busy timeout or not."""
    path = str(tmp_path / "new.db")
    other_worker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other_worker.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, other_worker.execute, ["COMMIT"]).start()

    make_app(DATABASE=path, BUSY_TIMEOUT_MS=5000)

    other_worker.close()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_each_request_syncs_on_commit_and_waits_for_other_writers(make_app):
    app = make_app(BUSY_TIMEOUT_MS=1234)
    with app.app_context():
        db = get_repo().db
        assert db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert db.execute("PRAGMA busy_timeout").fetchone() == (1234,)


def test_rules_survive_a_restart(make_app, auth):
    assert_json(push(make_app().test_client(), auth, item(1, 101, "101")), 200, result((1, "created")))
    assert_json(push(make_app().test_client(), auth, item(1, 101, "101")), 200, result((1, "updated")))


# -- settings -------------------------------------------------------------------------------------


def test_environment_overrides_are_typed():
    environ = {
        "FORWARDING_DATABASE": "/var/lib/forwarding/rules.db",
        "FORWARDING_TOKEN_LIFETIME": "600",
        "FORWARDING_MAX_ENTITIES": "4",
        "FORWARDING_MAX_CONTENT_LENGTH": "1048576",
        "FORWARDING_DEVICE_SERIAL": "0042",
        "FORWARDING_UNKNOWN": "x",
        "DATABASE": "/elsewhere.db",
    }
    assert config.from_environment(environ) == {
        "DATABASE": "/var/lib/forwarding/rules.db",
        "TOKEN_LIFETIME": 600,
        "MAX_ENTITIES": 4,
        "MAX_CONTENT_LENGTH": 1048576,
        "DEVICE_SERIAL": "0042",
    }


def test_no_environment_no_overrides():
    assert config.from_environment({}) == {}


@pytest.mark.parametrize("value", ["", "ten", "1.5", "0x10", " 60 ", "1_000", "-5", "\u0661\u0660"])
def test_a_bad_integer_in_the_environment_is_a_clear_error(value):
    with pytest.raises(ValueError) as error:
        config.from_environment({"FORWARDING_TOKEN_LIFETIME": value})
    assert str(error.value) == f"FORWARDING_TOKEN_LIFETIME must be an integer, not {value!r}"


def test_the_app_reads_the_environment(monkeypatch, db_path, auth):
    monkeypatch.setenv("FORWARDING_DATABASE", db_path)
    monkeypatch.setenv("FORWARDING_MAX_ENTITIES", "1")
    client = create_app().test_client()
    assert push(client, auth, item(1, 101, "101")).status_code == 200
    response = push(client, auth, item(1, 101, "101", "102"))
    assert_error(response, 400, wrong_type("forward_entity_list"))


def test_the_app_refuses_to_start_with_a_bad_setting(monkeypatch, db_path):
    monkeypatch.setenv("FORWARDING_DATABASE", db_path)
    monkeypatch.setenv("FORWARDING_MAX_ENTITIES", "eight")
    with pytest.raises(ValueError, match="FORWARDING_MAX_ENTITIES must be an integer, not 'eight'"):
        create_app()


def test_a_test_config_replaces_the_environment(monkeypatch, make_app):
    monkeypatch.setenv("FORWARDING_DEVICE_SERIAL", "FROM-ENV")
    assert serial(make_app()) != "FROM-ENV"
