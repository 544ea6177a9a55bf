"""The operator's command line: `--help`, `set-password` and the factory-password warning,
`revoke-tokens` and `config` (the rule commands are in test_cli_rules.py)."""

import logging
import pathlib

import pytest
from click.testing import CliRunner

from forwarding import cli
from tests.helpers import LINK_ITEMS, assert_error, basic, bearer, log_in, md5

FACTORY_WARNING = "the account still has the factory password; change it with `forwarding set-password`"


def basic_status(client, username, password):
    return client.post(LINK_ITEMS, json={"list_items": []}, headers=basic(username, password)).status_code


def warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "forwarding" and r.levelno == logging.WARNING]


def test_set_password(client, runner, caplog):
    assert basic_status(client, "admin", "123456") == 200  # remembered as verified from here on
    outcome = runner.invoke(args=["set-password", "--password", "n3w-Secret"])
    assert (outcome.exit_code, outcome.output) == (0, "Password of 'admin' changed.\n")
    assert log_in(client, password=md5("n3w-Secret")).status_code == 200
    assert log_in(client, password=md5("n3w-Secret").upper()).status_code == 200
    assert_error(log_in(client, password=md5("123456")), 400, "Wrong login or password")
    assert basic_status(client, "admin", "n3w-Secret") == 200
    assert basic_status(client, "admin", "123456") == 401
    assert "n3w-Secret" not in caplog.text


def test_a_non_ascii_password(client, runner):
    """Login and Basic both take the password's UTF-8 bytes."""
    runner.invoke(args=["set-password", "--password", "пароль-№1"])
    assert log_in(client, password=md5("пароль-№1")).status_code == 200
    assert basic_status(client, "admin", "пароль-№1") == 200


def test_set_password_asks_twice(client, runner):
    outcome = runner.invoke(args=["set-password"], input="typed\ntyped\n")
    assert outcome.exit_code == 0
    assert log_in(client, password=md5("typed")).status_code == 200


def test_set_password_refuses_a_mismatch_or_an_empty_password(client, runner, repo):
    before = repo.account().password_hash
    assert runner.invoke(args=["set-password"], input="one\ntwo\n").exit_code != 0
    outcome = runner.invoke(args=["set-password", "--password", ""])
    assert outcome.exit_code == 2
    assert "the password must not be empty" in outcome.output
    assert repo.account().password_hash == before
    assert log_in(client, password=md5("123456")).status_code == 200


def test_set_password_can_rename_the_account(client, runner):
    outcome = runner.invoke(args=["set-password", "--username", "operator", "--password", "pw"])
    assert (outcome.exit_code, outcome.output) == (0, "Password of 'operator' changed.\n")
    assert log_in(client, "operator", md5("pw")).status_code == 200
    assert_error(log_in(client, password=md5("pw")), 400, "Wrong login or password")


def test_the_password_is_stored_salted_and_slow(runner, repo, db_path):
    password = "same-Passw0rd"
    hashes = []
    for _ in range(2):
        runner.invoke(args=["set-password", "--password", password])
        hashes.append(repo.account().password_hash)
    assert hashes[0] != hashes[1]
    assert hashes[0].split(":")[0] in ("scrypt", "pbkdf2")
    stored = b"".join(pathlib.Path(path).read_bytes() for path in (db_path, db_path + "-wal"))
    for secret in (password, md5(password)):
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
    outcome = CliRunner().invoke(
        cli.main, ["set-password", "--password", "from-shell"], env={"FORWARDING_DATABASE": db_path}
    )
    assert outcome.exit_code == 0, outcome.output
    assert log_in(client, password=md5("from-shell")).status_code == 200
    assert log_in(client, password=md5("123456")).status_code == 400


@pytest.mark.parametrize(
    "command, summary",
    [
        ("set-password", "Change the administrator's password."),
        ("export", "Write every rule, with its link_id, as JSON."),
        ("import", "Load the rules of FILE (`-` for stdin), all of them or none."),
        ("list", "Show the rules as a table, in forward_number order."),
        ("revoke-tokens", "Log every client out: delete all login tokens (HTTP Basic keeps working)."),
        ("config", "Show the settings in force, as FORWARDING_* variables."),
    ],
)
def test_help(runner, command, summary):
    result = runner.invoke(args=[command, "--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ") and f"\n  {summary}\n" in result.stdout


def test_revoke_tokens(runner, client, repo):
    tokens = [log_in(client, password=md5("123456")).get_json()["token"] for _ in range(2)]
    stored = repo.db.execute("SELECT count(*) FROM tokens").fetchone()[0]  # and the fixture's own
    result = runner.invoke(args=["revoke-tokens"])
    assert (result.exit_code, result.stdout) == (0, f"Revoked {stored} tokens.\n")
    assert repo.db.execute("SELECT count(*) FROM tokens").fetchone() == (0,)
    for token in tokens:
        response = client.get("/api/v1/forward/items", headers=bearer(token))
        assert_error(response, 401, "Log In")
    assert runner.invoke(args=["revoke-tokens"]).stdout == "Revoked 0 tokens.\n"


def test_config(runner, app, db_path):
    result = runner.invoke(args=["config"])
    assert (result.exit_code, result.stdout) == (
        0,
        (
            f"FORWARDING_DATABASE={db_path}\n"
            "FORWARDING_TOKEN_LIFETIME=7200\n"
            "FORWARDING_MAX_ENTITIES=8\n"
            "FORWARDING_MAX_CONTENT_LENGTH=16777216\n"
            "FORWARDING_BUSY_TIMEOUT_MS=30000\n"
            "FORWARDING_BASIC_AUTH_CACHE_SECONDS=60\n"
            "FORWARDING_LOGIN_MAX_FAILURES=10\n"
            "FORWARDING_LOGIN_WINDOW_SECONDS=900\n"
            "FORWARDING_LOGIN_BLOCK_SECONDS=900\n"
            "FORWARDING_LOGIN_ADDRESS_MAX_FAILURES=30\n"
            "FORWARDING_LOGIN_ADDRESS_WINDOW_SECONDS=300\n"
            f"FORWARDING_DEVICE_SERIAL={app.config['DEVICE_SERIAL']}\n"
            "FORWARDING_DEVICE_MODEL=forwarding\n"
            "FORWARDING_FIRMWARE_VERSION=1.0.0\n"
            "FORWARDING_LOG_FORMAT=text\n"
        ),
    )
    assert len(app.config["DEVICE_SERIAL"]) == 16
