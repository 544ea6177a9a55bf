"""The operator's command line: `--help`, `set-password` and the factory-password warning,
`revoke-tokens` and `config` (the rule commands are in test_cli_rules.py)."""

import importlib.metadata
import logging
import os
import pathlib
import pty
import subprocess
import sys

import pytest
from click.testing import CliRunner

from forwarding import cli, credentials, envfile
from forwarding.storage import Storage
from tests.helpers import LINK_ITEMS, assert_error, basic, bearer, log_in, md5

FACTORY_WARNING = "the account still has the factory password; change it with `forwarding set-password`"


def basic_status(client, username, password):
    return client.post(LINK_ITEMS, json={"list_items": []}, headers=basic(username, password)).status_code


def warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "forwarding" and r.levelno == logging.WARNING]


def test_set_password(client, runner, caplog):
    assert basic_status(client, "admin", "123456") == 200  # remembered as verified from here on
    outcome = runner.invoke(args=["set-password", "--password", "n3w-Secret"])
    assert (outcome.exit_code, outcome.output) == (
        0,
        "Password of 'admin' changed; 1 token revoked: every client must log in again.\n",
    )
    assert log_in(client, password=md5("n3w-Secret")).status_code == 200
    assert log_in(client, password=md5("n3w-Secret").upper()).status_code == 200
    assert_error(log_in(client, password=md5("123456")), 400, "Wrong login or password")
    assert basic_status(client, "admin", "n3w-Secret") == 200
    assert basic_status(client, "admin", "123456") == 401
    assert "n3w-Secret" not in caplog.text


def test_set_password_revokes_every_token(client, runner, auth, repo):
    tokens = [log_in(client, password=md5("123456")).get_json()["token"] for _ in range(2)]
    outcome = runner.invoke(args=["set-password", "--password", "n3w-Secret"])
    assert (outcome.exit_code, outcome.stdout) == (
        0,
        "Password of 'admin' changed; 3 tokens revoked: every client must log in again.\n",
    )
    for headers in [auth, *({"Authorization": f"Bearer {token}"} for token in tokens)]:
        assert_error(client.get("/api/v1/forward/items", headers=headers), 401, "Log In")
    assert repo.database.connection.execute("SELECT count(*) FROM tokens").fetchone() == (0,)
    assert basic_status(client, "admin", "n3w-Secret") == 200  # Basic with the new password works at once


def test_a_non_ascii_password(client, runner):
    """Login and Basic both take the password's UTF-8 bytes."""
    runner.invoke(args=["set-password", "--password", "пароль-№1"])
    assert log_in(client, password=md5("пароль-№1")).status_code == 200
    assert basic_status(client, "admin", "пароль-№1") == 200


@pytest.fixture
def terminal(monkeypatch):
    """stdin as a terminal, which the prompt needs (the runner's input is a pipe)."""
    monkeypatch.setattr(cli.access, "_stdin_is_terminal", lambda: True)


def test_set_password_asks_twice(client, runner, terminal):
    outcome = runner.invoke(args=["set-password"], input="typed-twice\ntyped-twice\n")
    assert outcome.exit_code == 0
    assert outcome.stdout == (
        "New password: \nRepeat it: \nPassword of 'admin' changed; 1 token revoked: every client must log in again.\n"
    )
    assert log_in(client, password=md5("typed-twice")).status_code == 200


def test_set_password_from_stdin(client, runner):
    outcome = runner.invoke(args=["set-password", "--password-stdin"], input="from a script\r\nnot this\n")
    assert (outcome.exit_code, outcome.stderr) == (0, "")
    assert log_in(client, password=md5("from a script")).status_code == 200


@pytest.mark.parametrize(
    "args, input, message",
    [
        (["--password-stdin"], "", "the password must be at least 8 characters long (this one has 0)"),
        (["--password-stdin"], "1234567\n", "the password must be at least 8 characters long (this one has 7)"),
        (["--password-stdin"], "123456\n", "that is the factory password, which everyone knows: choose another"),
        (["--password", "abc"], None, "the password must be at least 8 characters long (this one has 3)"),
        ([], "long-enough\n", "stdin is not a terminal: give the password on stdin with --password-stdin"),
        (
            ["--username", "a:b", "--password", "long-enough"],
            None,
            "--username: the username must not contain a colon or control characters",
        ),
        (["--username", "", "--password", "long-enough"], None, "--username: the username must not be empty"),
    ],
)
def test_set_password_refusals(client, runner, repo, args, input, message):
    before = repo.access.account().password_hash
    outcome = runner.invoke(args=["set-password", *args], input=input)
    assert (outcome.exit_code, outcome.stdout, outcome.stderr) == (2, "", f"Error: {message}\n")
    assert repo.access.account().password_hash == before
    assert repo.access.account().username == "admin"


@pytest.mark.parametrize(
    "typed, message",
    [
        ("one-password\nanother-one\n", "the two passwords differ: nothing changed"),
        ("\n", "the password must be at least 8 characters long (this one has 0)"),  # not asked again silently
    ],
)
def test_set_password_at_the_prompt_refuses(client, runner, repo, terminal, typed, message):
    before = repo.access.account().password_hash
    outcome = runner.invoke(args=["set-password"], input=typed)
    assert (outcome.exit_code, outcome.stderr) == (2, f"Error: {message}\n")
    assert repo.access.account().password_hash == before
    assert log_in(client, password=md5("123456")).status_code == 200


def test_set_password_on_a_real_terminal_warns_of_nothing(tmp_path, db_path):
    """getpass on a pseudo-terminal: no GetPassWarning, no echo of the password."""
    primary, secondary = pty.openpty()
    environ = {name: value for name, value in os.environ.items() if not name.startswith("FORWARDING_")}
    process = subprocess.Popen(
        [FORWARDING, "set-password"],
        cwd=tmp_path,
        env={**environ, "FORWARDING_DATABASE": db_path},
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        start_new_session=True,
    )
    os.close(secondary)
    shown = b""
    for prompt in (b"New password: ", b"Repeat it: "):
        while prompt not in shown:
            shown += os.read(primary, 1024)
        os.write(primary, b"on-a-terminal\n")
    assert process.wait(30) == 0
    while True:
        try:
            chunk = os.read(primary, 1024)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    text = shown.decode().replace("\r\n", "\n")
    assert "Warning" not in text and "on-a-terminal" not in text
    assert text.endswith("Password of 'admin' changed; 1 token revoked: every client must log in again.\n")


def test_set_password_can_rename_the_account(client, runner):
    outcome = runner.invoke(args=["set-password", "--username", "operator", "--password", "pw-of-the-operator"])
    assert (outcome.exit_code, outcome.output) == (
        0,
        "Password of 'operator' changed; 1 token revoked: every client must log in again.\n",
    )
    assert log_in(client, password=md5("pw-of-the-operator"), username="operator").status_code == 200
    assert_error(log_in(client, password=md5("pw-of-the-operator")), 400, "Wrong login or password")


def test_the_password_is_stored_salted_and_slow(runner, repo, db_path):
    password = "same-Passw0rd"
    hashes = []
    for _ in range(2):
        runner.invoke(args=["set-password", "--password", password])
        hashes.append(repo.access.account().password_hash)
    assert hashes[0] != hashes[1]
    assert hashes[0].split(":")[0] in ("scrypt", "pbkdf2")
    stored = b"".join(pathlib.Path(path).read_bytes() for path in (db_path, db_path + "-wal"))
    for secret in (password, md5(password)):
        assert secret.encode() not in stored


def test_the_factory_password_warning(make_app, runner, repo, caplog):
    make_app()
    assert warnings(caplog) == [FACTORY_WARNING]
    runner.invoke(args=["set-password", "--password", "changed-it"])
    caplog.clear()
    make_app()
    assert warnings(caplog) == []
    repo.access.set_account("admin", credentials.hash_password("123456"), is_default=True)  # a database from before
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
    stored = repo.database.connection.execute("SELECT count(*) FROM tokens").fetchone()[0]  # and the fixture's own
    result = runner.invoke(args=["revoke-tokens"])
    assert (result.exit_code, result.stdout) == (0, f"Revoked {stored} tokens.\n")
    assert repo.database.connection.execute("SELECT count(*) FROM tokens").fetchone() == (0,)
    for token in tokens:
        response = client.get("/api/v1/forward/items", headers=bearer(token))
        assert_error(response, 401, "Log In")
    assert runner.invoke(args=["revoke-tokens"]).stdout == "Revoked 0 tokens.\n"


def test_config(runner, app, db_path):
    result = runner.invoke(args=["config"])
    assert (result.exit_code, result.stdout) == (
        0,
        (
            f"# the database: {db_path}\n"
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
            "FORWARDING_DEVICE_SERIAL=\n"  # empty: the database's own serial is answered
            "FORWARDING_DEVICE_MODEL=forwarding\n"
            "FORWARDING_FIRMWARE_VERSION=1.0.0\n"
            "FORWARDING_LOG_FORMAT=text\n"
            "FORWARDING_HISTORY_LIMIT=100000\n"
            "FORWARDING_HISTORY_MAX_BYTES=268435456\n"
            "FORWARDING_MAX_RULES=100000\n"
            "FORWARDING_WRITES_IN_PROGRESS=2\n"
        ),
    )


# -- the command itself: --help, --version, --env-file -------------------------------------------

FORWARDING = str(pathlib.Path(sys.executable).with_name("forwarding"))


def forwarding(*args, cwd, env=None, input=None):
    """The installed `forwarding` command, run as an operator runs it: `(exit code, stdout, stderr)`."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith("FORWARDING_")}
    run = subprocess.run(
        [FORWARDING, *args], cwd=cwd, env={**environ, **(env or {})}, input=input, capture_output=True, text=True
    )
    return run.returncode, run.stdout, run.stderr


def test_help_lists_our_commands_only(tmp_path, db_path):
    code, out, err = forwarding("--help", cwd=tmp_path, env={"FORWARDING_DATABASE": db_path})
    assert (code, err) == (0, "")  # no warning of the factory password either
    commands = out.split("Commands:\n")[1].splitlines()
    assert [line.split()[0] for line in commands if line[2] != " "] == [
        "backup",
        "blocks",
        "config",
        "export",
        "history",
        "import",
        "init",
        "list",
        "restore",
        "restored",
        "revoke-tokens",
        "set-password",
        "show",
        "unblock",
    ]
    assert "-e, --env-file FILE" in out and "--version" in out and "--app" not in out and "--debug" not in out
    assert [path.name for path in tmp_path.iterdir()] == ["forwarding.db"]


def test_version_is_ours(tmp_path):
    assert forwarding("--version", cwd=tmp_path) == (0, f"forwarding {importlib.metadata.version('forwarding')}\n", "")


def test_env_file_settings_and_the_environment_first(tmp_path, db_path):
    env_file = tmp_path / "forwarding.env"
    env_file.write_text(
        "# the service's settings\n"
        "\n"
        f"FORWARDING_DATABASE={db_path}\n"
        "; another comment\n"
        "FORWARDING_TOKEN_LIFETIME='600'\n"
        'export FORWARDING_MAX_ENTITIES = "5"\n'
    )
    code, out, _ = forwarding("--env-file", str(env_file), "config", cwd=tmp_path, env={"FORWARDING_MAX_ENTITIES": "3"})
    assert code == 0
    assert forwarding("-e", str(env_file), "config", cwd=tmp_path, env={"FORWARDING_MAX_ENTITIES": "3"})[1] == out
    shown = out.splitlines()
    assert f"FORWARDING_DATABASE={db_path}" in shown
    assert "FORWARDING_TOKEN_LIFETIME=600" in shown
    assert "FORWARDING_MAX_ENTITIES=3" in shown


def test_the_shipped_env_file_parses():
    shipped = pathlib.Path(__file__).parents[1] / "deploy" / "forwarding.env"
    assert envfile.parse(shipped.read_text(), str(shipped)) == {
        "FORWARDING_UWSGI_SOCKET": "/run/forwarding/uwsgi.sock",
        "FORWARDING_UWSGI_SOCKET_OWNER": "forwarding:www-data",
        "FORWARDING_DATABASE": "/var/lib/forwarding/forwarding.db",
    }


def test_a_bad_env_file_line_is_a_usage_error(tmp_path):
    env_file = tmp_path / "forwarding.env"
    env_file.write_text("FORWARDING_DATABASE=x.db\nthis is not a setting\n")
    code, out, err = forwarding("--env-file", str(env_file), "list", cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err.endswith(
        f"Error: Invalid value for --env-file: {env_file}, line 2: not NAME=VALUE: 'this is not a setting'\n"
    )


# -- which database: `init` creates it, the other commands only open it ---------------------------


@pytest.mark.parametrize("command", ["list", "export", "config", "revoke-tokens", "import", "set-password"])
def test_a_missing_database_is_one_line_and_nothing_is_made(tmp_path, command):
    args = {"import": ["import", "-"], "set-password": ["set-password", "--password", "long-enough"]}.get(
        command, [command]
    )
    code, out, err = forwarding(*args, cwd=tmp_path, input="x\n")
    expected = (
        f"Error: no database at {tmp_path}/instance/forwarding.db (FORWARDING_DATABASE is not set): set"
        " FORWARDING_DATABASE to the service's (or use --env-file), or create one with `forwarding init`\n"
    )
    assert (code, out, err) == (1, "", expected)
    code, out, err = forwarding(*args, cwd=tmp_path, input="x\n", env={"FORWARDING_DATABASE": "data/rules.db"})
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: no database at {tmp_path}/data/rules.db (FORWARDING_DATABASE=data/rules.db): ")
    assert list(tmp_path.iterdir()) == []


def test_init_creates_the_database_once(tmp_path):
    path = tmp_path / "instance" / "forwarding.db"
    warning = f"Warning: {FACTORY_WARNING}\n"
    assert forwarding("init", cwd=tmp_path) == (0, f"Created the database {path}.\n", warning)
    assert forwarding("list", cwd=tmp_path) == (0, f"No rules in {path}.\n", "")
    assert forwarding("init", cwd=tmp_path) == (0, f"The database {path} is there already: nothing to do.\n", warning)
    repo = Storage(str(path))
    assert repo.access.account().username == "admin" and repo.rules.count() == 0
    repo.close()


def test_list_export_and_config_name_the_database(tmp_path, db_path):
    env = {"FORWARDING_DATABASE": db_path}
    assert forwarding("list", cwd=tmp_path, env=env) == (0, f"No rules in {db_path}.\n", "")
    assert forwarding("export", cwd=tmp_path, env=env) == (
        0,
        '{"version": 1, "items": []}\n',
        f"Exported 0 rules from {db_path}.\n",
    )
    code, out, err = forwarding("config", cwd=tmp_path, env=env)
    assert (code, out.splitlines()[:2]) == (0, [f"# the database: {db_path}", f"FORWARDING_DATABASE={db_path}"])
    assert err == f"Warning: {FACTORY_WARNING}\n"  # config says what an operator should check


# -- bad settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "setting, message",
    [
        (
            {"FORWARDING_TOKEN_LIFETIME": "-5"},
            "FORWARDING_TOKEN_LIFETIME is '-5': it must be a whole number of seconds, at least 1",
        ),
        ({"FORWARDING_LOG_FORMAT": "xml"}, "FORWARDING_LOG_FORMAT is 'xml': it must be text or json"),
    ],
)
def test_a_bad_setting_is_one_line_and_a_usage_error(tmp_path, db_path, setting, message):
    code, out, err = forwarding("list", cwd=tmp_path, env={"FORWARDING_DATABASE": db_path, **setting})
    assert (code, out, err) == (2, "", f"Error: {message}\n")


def test_a_damaged_database_is_one_line_and_a_usage_error(tmp_path):
    path = tmp_path / "forwarding.db"
    path.write_bytes(b"no database\n" * 400)
    code, out, err = forwarding("list", cwd=tmp_path, env={"FORWARDING_DATABASE": str(path)})
    assert (code, out, err) == (2, "", f"Error: cannot use the database '{path}': file is not a database\n")
    assert path.read_bytes() == b"no database\n" * 400


def test_an_unknown_variable_is_warned_about(tmp_path, db_path):
    code, out, err = forwarding(
        "list", cwd=tmp_path, env={"FORWARDING_DATABASE": db_path, "FORWARDING_TOKEN_LIFETIM": "5"}
    )
    assert (code, out) == (0, f"No rules in {db_path}.\n")
    assert err.splitlines()[0] == (
        "Warning: FORWARDING_TOKEN_LIFETIM is not a setting of forwarding, and is ignored"
        " (did you mean FORWARDING_TOKEN_LIFETIME?)"
    )
