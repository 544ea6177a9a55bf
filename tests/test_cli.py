"""The operator's command line: `forwarding set-password`, and the factory-password warning."""

import hashlib
import logging

from click.testing import CliRunner

from forwarding import cli

from helpers import LINK_ITEMS, assert_error, basic

FACTORY_WARNING = "the account still has the factory password; change it with `forwarding set-password`"


def log_in(client, password, username="admin"):
    md5 = hashlib.md5(password.encode()).hexdigest()
    return client.get("/api/v1/login", query_string={"username": username, "password": md5})


def basic_status(client, username, password):
    return client.post(LINK_ITEMS, json={"list_items": []}, headers=basic(username, password)).status_code


def warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "forwarding" and r.levelno == logging.WARNING]


def test_set_password(client, runner, caplog):
    assert basic_status(client, "admin", "123456") == 200  # remembered as verified from here on
    outcome = runner.invoke(args=["set-password", "--password", "n3w-Secret"])
    assert (outcome.exit_code, outcome.output) == (0, "Password of 'admin' changed.\n")
    assert log_in(client, "n3w-Secret").status_code == 200
    md5 = hashlib.md5(b"n3w-Secret").hexdigest().upper()
    assert client.get("/api/v1/login", query_string={"username": "admin", "password": md5}).status_code == 200
    assert_error(log_in(client, "123456"), 400, "Wrong login or password")
    assert basic_status(client, "admin", "n3w-Secret") == 200
    assert basic_status(client, "admin", "123456") == 401
    assert "n3w-Secret" not in caplog.text


def test_a_non_ascii_password(client, runner):
    """Login and Basic both take the password's UTF-8 bytes."""
    runner.invoke(args=["set-password", "--password", "пароль-№1"])
    assert log_in(client, "пароль-№1").status_code == 200
    assert basic_status(client, "admin", "пароль-№1") == 200


def test_set_password_asks_twice(client, runner):
    outcome = runner.invoke(args=["set-password"], input="typed\ntyped\n")
    assert outcome.exit_code == 0
    assert log_in(client, "typed").status_code == 200


def test_set_password_refuses_a_mismatch_or_an_empty_password(client, runner, repo):
    before = repo.account().password_hash
    assert runner.invoke(args=["set-password"], input="one\ntwo\n").exit_code != 0
    outcome = runner.invoke(args=["set-password", "--password", ""])
    assert outcome.exit_code == 2
    assert "the password must not be empty" in outcome.output
    assert repo.account().password_hash == before
    assert log_in(client, "123456").status_code == 200


def test_set_password_can_rename_the_account(client, runner):
    outcome = runner.invoke(args=["set-password", "--username", "operator", "--password", "pw"])
    assert (outcome.exit_code, outcome.output) == (0, "Password of 'operator' changed.\n")
    assert log_in(client, "pw", username="operator").status_code == 200
    assert_error(log_in(client, "pw"), 400, "Wrong login or password")


def test_the_password_is_stored_salted_and_slow(runner, repo, db_path):
    password = "same-Passw0rd"
    hashes = []
    for _ in range(2):
        runner.invoke(args=["set-password", "--password", password])
        hashes.append(repo.account().password_hash)
    assert hashes[0] != hashes[1]
    assert hashes[0].split(":")[0] in ("scrypt", "pbkdf2")
    stored = b"".join(open(path, "rb").read() for path in (db_path, db_path + "-wal"))
    for secret in (password, hashlib.md5(password.encode()).hexdigest()):
        assert secret.encode() not in stored


def test_the_factory_password_warning(make_app, runner, caplog):
    make_app()
    assert warnings(caplog) == [FACTORY_WARNING]
    runner.invoke(args=["set-password", "--password", "changed"])
    caplog.clear()
    make_app()
    assert warnings(caplog) == []
    runner.invoke(args=["set-password", "--password", "123456"])  # back to the factory password
    make_app()
    assert warnings(caplog) == [FACTORY_WARNING]


def test_the_console_script(app, db_path, client):
    outcome = CliRunner().invoke(cli.main, ["set-password", "--password", "from-shell"],
                                 env={"FORWARDING_DATABASE": db_path})
    assert outcome.exit_code == 0, outcome.output
    assert log_in(client, "from-shell").status_code == 200
    assert log_in(client, "123456").status_code == 400
