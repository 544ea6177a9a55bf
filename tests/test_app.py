"""The application: GET /api/info, the database file, and the settings."""

import pathlib
import re
import sqlite3
import threading
from contextlib import closing

import pytest

from forwarding import config
from forwarding.db import get_storage
from forwarding.factory import create_app
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


def test_the_serial_is_read_from_the_database_each_time(app, client, repo):
    """A restore (`forwarding restore`) changes it under running workers."""
    with repo.database.transaction() as db:
        db.execute("UPDATE settings SET value = 'RESTORED-0001' WHERE name = 'device_serial'")
    assert client.get("/api/info").data == (
        b'{"device_model":"forwarding","firmware_version":"1.0.0","api_version":"2.9.0",'
        b'"device_serial_number":"RESTORED-0001"}\n'
    )


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
        db = get_storage().database.connection
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


@pytest.mark.parametrize(
    "value", ["", "ten", "1.5", "0x10", " 60 ", "1_000", "-5", "0", "\u0661\u0660", "9" * 5000, "9223372036854775808"]
)
def test_a_bad_integer_in_the_environment_is_a_clear_error(value):
    with pytest.raises(config.BadSetting) as error:
        config.from_environment({"FORWARDING_TOKEN_LIFETIME": value})
    assert (
        str(error.value) == f"FORWARDING_TOKEN_LIFETIME is {value!r}: it must be a whole number of seconds, at least 1"
    )


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("MAX_ENTITIES", "0", "it must be a whole number, at least 1"),
        ("MAX_CONTENT_LENGTH", "1023", "it must be a whole number of bytes, at least 1024"),
        ("BUSY_TIMEOUT_MS", "2147483648", "it must be a whole number of milliseconds from 1 to 2147483647"),
        ("BASIC_AUTH_CACHE_SECONDS", "-1", "it must be a whole number of seconds, at least 0"),
        ("LOGIN_MAX_FAILURES", "0", "it must be a whole number, at least 1"),
        ("LOGIN_WINDOW_SECONDS", "0", "it must be a whole number of seconds, at least 1"),
        ("LOGIN_BLOCK_SECONDS", "31622401", "it must be a whole number of seconds from 1 to 31622400"),
        ("LOGIN_ADDRESS_WINDOW_SECONDS", "31622401", "it must be a whole number of seconds from 1 to 31622400"),
        ("PASSWORD_CHECKS", "0", "it must be a whole number of password checks from 1 to 64"),
        ("PASSWORD_CHECKS", "65", "it must be a whole number of password checks from 1 to 64"),
        ("LOG_FORMAT", "xml", "it must be text or json"),
    ],
)
def test_each_setting_says_what_it_must_be(variable, value, message):
    with pytest.raises(config.BadSetting) as error:
        config.from_environment({f"FORWARDING_{variable}": value})
    assert str(error.value) == f"FORWARDING_{variable} is {value!r}: {message}"


def test_the_least_values_are_taken():
    least = {"MAX_CONTENT_LENGTH": "1024", "BUSY_TIMEOUT_MS": "1", "BASIC_AUTH_CACHE_SECONDS": "0", "MAX_ENTITIES": "1"}
    assert config.from_environment({f"FORWARDING_{name}": value for name, value in least.items()}) == {
        name: int(value) for name, value in least.items()
    }


def test_an_empty_database_path_is_refused():
    with pytest.raises(
        config.BadSetting, match="^FORWARDING_DATABASE is empty: it must be the path of the SQLite file$"
    ):
        config.from_environment({"FORWARDING_DATABASE": ""})


def test_an_unknown_variable_is_warned_about_with_the_closest_name():
    environ = {
        "FORWARDING_TOKEN_LIFETIM": "5",
        "FORWARDING_DATABSE": "x.db",
        "FORWARDING_XYZZY": "1",
        "FORWARDING_UWSGI_SOCKET": "127.0.0.1:3031",
        "FORWARDING_TOKEN_LIFETIME": "5",
        "HOME": "/root",
    }
    assert config.unknown(environ) == [
        "FORWARDING_DATABSE is not a setting of forwarding, and is ignored (did you mean FORWARDING_DATABASE?)",
        "FORWARDING_TOKEN_LIFETIM is not a setting of forwarding, and is ignored"
        " (did you mean FORWARDING_TOKEN_LIFETIME?)",
        "FORWARDING_XYZZY is not a setting of forwarding, and is ignored"
        " (the settings are in the README, Configuration)",
    ]


def test_every_variable_the_repository_uses_is_known():
    """wsgi.ini, deploy/, the tests' own and the code's: none may be warned about as misspelt."""
    root = pathlib.Path(__file__).parents[1]
    files = [
        *(root / name for name in ("wsgi.ini", ".ci/run", "tests/e2e/conftest.py", "tests/e2e/deployment.py")),
        *root.glob("deploy/*"),
        *root.glob("forwarding/**/*.py"),
    ]
    used = {name for path in files for name in re.findall(r"FORWARDING_[A-Z0-9_]*[A-Z0-9]", path.read_text())}
    assert {"FORWARDING_UWSGI_SOCKET", "FORWARDING_NGINX_LISTEN", "FORWARDING_E2E", "FORWARDING_REPLICA_URL"} <= used
    assert config.unknown(dict.fromkeys(used, "")) == []


def test_the_app_warns_about_an_unknown_variable(monkeypatch, db_path, caplog):
    monkeypatch.setenv("FORWARDING_DATABASE", db_path)
    monkeypatch.setenv("FORWARDING_TOKEN_LIFETIM", "60")
    create_app()
    warned = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert (
        "FORWARDING_TOKEN_LIFETIM is not a setting of forwarding, and is ignored"
        " (did you mean FORWARDING_TOKEN_LIFETIME?)"
    ) in warned


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
    with pytest.raises(
        config.BadSetting, match="^FORWARDING_MAX_ENTITIES is 'eight': it must be a whole number, at least 1$"
    ):
        create_app()


def test_a_test_config_replaces_the_environment(monkeypatch, make_app):
    monkeypatch.setenv("FORWARDING_DEVICE_SERIAL", "FROM-ENV")
    assert serial(make_app()) != "FROM-ENV"
