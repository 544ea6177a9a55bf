"""The operator's command line: `--help`, `set-password` and the factory-password warning,
`revoke-tokens` and `config` (the rule commands are in test_cli_rules.py)."""

import logging
import os
import pathlib
import subprocess
import sys

import pytest
from click.testing import CliRunner

from forwarding import cli, credentials, envfile
from forwarding.storage import Storage
from tests.helpers import LINK_ITEMS, assert_error, basic, bearer, log_in, md5, set_password_on_a_terminal

FACTORY_WARNING = (
    "the account still has the factory password; change it with `forwarding set-password`"
    " (deployed: `/opt/forwarding/.venv/bin/forwarding set-password`, as root)"
)


def basic_status(client, username, password):
    return client.post(LINK_ITEMS, json={"list_items": []}, headers=basic(username, password)).status_code


def warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "forwarding" and r.levelno == logging.WARNING]


def test_set_password(client, runner, caplog, db_path):
    assert basic_status(client, "admin", "123456") == 200  # remembered as verified from here on
    outcome = runner.invoke(args=["set-password", "--password", "n3w-Secret"])
    assert (outcome.exit_code, outcome.output) == (
        0,
        f"Password of 'admin' changed in {db_path}; 1 token revoked: every client must log in again.\n",
    )
    assert log_in(client, password=md5("n3w-Secret")).status_code == 200
    assert log_in(client, password=md5("n3w-Secret").upper()).status_code == 200
    assert_error(log_in(client, password=md5("123456")), 400, "Wrong login or password")
    assert basic_status(client, "admin", "n3w-Secret") == 200
    assert basic_status(client, "admin", "123456") == 401
    assert "n3w-Secret" not in caplog.text


def test_set_password_revokes_every_token(client, runner, auth, repo, db_path):
    tokens = [log_in(client, password=md5("123456")).get_json()["token"] for _ in range(2)]
    outcome = runner.invoke(args=["set-password", "--password", "n3w-Secret"])
    assert (outcome.exit_code, outcome.stdout) == (
        0,
        f"Password of 'admin' changed in {db_path}; 3 tokens revoked: every client must log in again.\n",
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


def test_set_password_asks_twice(client, runner, terminal, db_path):
    outcome = runner.invoke(args=["set-password"], input="typed-twice\ntyped-twice\n")
    assert outcome.exit_code == 0
    assert outcome.stdout == (
        f"New password: \nRepeat it: \nPassword of 'admin' changed in {db_path};"
        " 1 token revoked: every client must log in again.\n"
    )
    assert log_in(client, password=md5("typed-twice")).status_code == 200


def test_set_password_from_stdin(client, runner):
    outcome = runner.invoke(args=["set-password", "--password-stdin"], input="from a script\r\nnot this\n")
    assert (outcome.exit_code, outcome.stderr) == (0, "")
    assert log_in(client, password=md5("from a script")).status_code == 200


@pytest.mark.parametrize(
    "args, input, code, message",
    [
        (["--password-stdin"], "", 1, "the password must be at least 8 characters long (this one has 0)"),
        (["--password-stdin"], "1234567\n", 1, "the password must be at least 8 characters long (this one has 7)"),
        (["--password-stdin"], "123456\n", 1, "that is the factory password, which everyone knows: choose another"),
        (["--password", "abc"], None, 1, "the password must be at least 8 characters long (this one has 3)"),
        ([], "long-enough\n", 2, "stdin is not a terminal: give the password on stdin with --password-stdin"),
        (
            ["--username", "a:b", "--password", "long-enough"],
            None,
            2,
            "--username: the username must not contain a colon or control characters",
        ),
        (["--username", "", "--password", "long-enough"], None, 2, "--username: the username must not be empty"),
    ],
)
def test_set_password_refusals(client, runner, repo, args, input, code, message):
    """A password refused is bad input (1); a bad option or a missing terminal, bad usage (2)."""
    before = repo.access.account().password_hash
    outcome = runner.invoke(args=["set-password", *args], input=input)
    assert (outcome.exit_code, outcome.stdout, outcome.stderr) == (code, "", f"Error: {message}\n")
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
    assert (outcome.exit_code, outcome.stderr) == (1, f"Error: {message}\n")
    assert repo.access.account().password_hash == before
    assert log_in(client, password=md5("123456")).status_code == 200


def test_set_password_on_a_real_terminal_warns_of_nothing(tmp_path, db_path):
    """getpass on a pseudo-terminal: no GetPassWarning, no echo of the password."""
    code, text = set_password_on_a_terminal(FORWARDING, tmp_path, {"FORWARDING_DATABASE": db_path})
    assert code == 0
    assert "Warning" not in text and "on-a-terminal" not in text
    assert text.endswith(
        f"Password of 'admin' changed in {db_path}; 1 token revoked: every client must log in again.\n"
    )


def test_set_password_can_rename_the_account(client, runner, db_path):
    outcome = runner.invoke(args=["set-password", "--username", "operator", "--password", "pw-of-the-operator"])
    assert (outcome.exit_code, outcome.output) == (
        0,
        f"Password of 'operator' changed in {db_path}; 1 token revoked: every client must log in again.\n",
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


def test_revoke_tokens(runner, client, repo, db_path):
    tokens = [log_in(client, password=md5("123456")).get_json()["token"] for _ in range(2)]
    stored = repo.database.connection.execute("SELECT count(*) FROM tokens").fetchone()[0]  # and the fixture's own
    result = runner.invoke(args=["revoke-tokens"])
    assert (result.exit_code, result.stdout) == (0, f"Revoked {stored} tokens in {db_path}.\n")
    assert repo.database.connection.execute("SELECT count(*) FROM tokens").fetchone() == (0,)
    for token in tokens:
        response = client.get("/api/v1/forward/items", headers=bearer(token))
        assert_error(response, 401, "Log In")
    assert runner.invoke(args=["revoke-tokens"]).stdout == f"Revoked 0 tokens in {db_path}.\n"


def test_config(runner, app, db_path):
    result = runner.invoke(args=["config"])
    assert (result.exit_code, result.stdout) == (
        0,
        (
            "# the settings file: none (the environment alone)\n"
            f"# the database: {db_path}, schema version 5\n"
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
            "FORWARDING_PASSWORD_CHECKS=1\n"
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
    environ["FORWARDING_ENV_FILE"] = ""  # not the host's own /etc/forwarding/forwarding.env
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
    """The release, and the schema version of the databases this code writes."""
    expected = "forwarding 1.2.0 (writes database schema 5)\n"
    assert forwarding("--version", cwd=tmp_path) == (0, expected, "")


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
    assert err.endswith(f"Error: --env-file: {env_file}, line 2: not NAME=VALUE: 'this is not a setting'\n")


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
    assert (code, out.splitlines()[1:3]) == (
        0,
        [f"# the database: {db_path}, schema version 5", f"FORWARDING_DATABASE={db_path}"],
    )
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


def test_a_damaged_database_is_one_line_and_refused(tmp_path):
    path = tmp_path / "forwarding.db"
    path.write_bytes(b"no database\n" * 400)
    code, out, err = forwarding("list", cwd=tmp_path, env={"FORWARDING_DATABASE": str(path)})
    assert (code, out, err) == (1, "", f"Error: cannot use the database '{path}': file is not a database\n")
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


def test_a_command_s_message_is_printed_once(tmp_path, db_path):
    """Its message alone: no log line of the same change after it on the terminal."""
    env = {"FORWARDING_DATABASE": db_path}
    assert forwarding("revoke-tokens", cwd=tmp_path, env=env) == (0, f"Revoked 1 token in {db_path}.\n", "")
    code, out, err = forwarding("set-password", "--password-stdin", cwd=tmp_path, env=env, input="long-enough\n")
    assert (code, out, err) == (
        0,
        f"Password of 'admin' changed in {db_path}; 0 tokens revoked: every client must log in again.\n",
        "",
    )
    code, out, err = forwarding("unblock", "--all", cwd=tmp_path, env=env)
    assert (code, out, err) == (0, f"Lifted 0 login blocks of every address in {db_path}.\n", "")


# -- the deployed settings file, read by default ----------------------------------------------------

WITH_DEFAULT = "import sys; from forwarding import cli; cli.DEFAULT_ENV_FILE = sys.argv.pop(1); cli.main()"


def with_default_env_file(default, *args, cwd, env=None):
    """The command, its default settings file being `default` (as /etc/forwarding/forwarding.env
    on a deployed host), FORWARDING_ENV_FILE unset."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith("FORWARDING_")}
    run = subprocess.run(
        [sys.executable, "-c", WITH_DEFAULT, str(default), *args],
        cwd=cwd,
        env={**environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    return run.returncode, run.stdout, run.stderr


def test_the_deployed_settings_file_is_read_by_default(tmp_path, db_path):
    default = tmp_path / "forwarding.env"
    default.write_text(f"FORWARDING_DATABASE={db_path}\n")
    assert with_default_env_file(default, "list", cwd=tmp_path) == (
        0,
        f"No rules in {db_path} (settings: {default}).\n",
        "",
    )
    # FORWARDING_DATABASE in the environment, or --env-file, and it is not read.
    other = tmp_path / "other.db"
    code, out, err = with_default_env_file(default, "list", cwd=tmp_path, env={"FORWARDING_DATABASE": str(other)})
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: no database at {other} (FORWARDING_DATABASE={other}): ")
    code, out, err = with_default_env_file(default, "init", cwd=tmp_path, env={"FORWARDING_ENV_FILE": ""})
    assert (code, out) == (0, f"Created the database {tmp_path}/instance/forwarding.db.\n")


def test_without_the_deployed_settings_file_the_environment_alone(tmp_path):
    code, out, err = with_default_env_file(tmp_path / "none.env", "list", cwd=tmp_path)
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: no database at {tmp_path}/instance/forwarding.db (FORWARDING_DATABASE is not set): ")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_database_names_the_settings_file(tmp_path):
    env_file = tmp_path / "forwarding.env"
    env_file.write_text(f"FORWARDING_DATABASE={tmp_path}/state/forwarding.db\n")
    code, out, err = forwarding("list", cwd=tmp_path, env={"FORWARDING_ENV_FILE": str(env_file)})
    assert (code, out, err) == (
        1,
        "",
        f"Error: no database at {tmp_path}/state/forwarding.db (FORWARDING_DATABASE={tmp_path}/state/forwarding.db;"
        f" settings: {env_file}): set FORWARDING_DATABASE to the service's (or use --env-file), or create one"
        " with `forwarding init`\n",
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["forwarding.env"]


def test_a_missing_settings_file_is_a_usage_error(tmp_path):
    missing = tmp_path / "none.env"
    code, out, err = forwarding("list", cwd=tmp_path, env={"FORWARDING_ENV_FILE": str(missing)})
    assert (code, out, err) == (
        2,
        "",
        f"Error: FORWARDING_ENV_FILE: cannot read {missing}: No such file or directory\n",
    )


# -- config --check: the service's start, checked ---------------------------------------------------


def service_start(env, cwd):
    """What the service says when it starts (uWSGI's master imports startcheck.py): `(code, stderr)`."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith("FORWARDING_")}
    run = subprocess.run(
        [sys.executable, "-c", "import forwarding.startcheck"],
        cwd=cwd,
        env={**environ, **env},
        capture_output=True,
        text=True,
    )
    return run.returncode, run.stderr


@pytest.mark.parametrize(
    "setting",
    [{"FORWARDING_TOKEN_LIFETIME": "-5"}, {"FORWARDING_LOG_FORMAT": "xml"}, {"FORWARDING_BUSY_TIMEOUT_MS": "1e3"}],
)
def test_config_check_says_what_the_service_would(tmp_path, db_path, setting):
    env = {"FORWARDING_DATABASE": db_path, **setting}
    code, out, err = forwarding("config", "--check", cwd=tmp_path, env=env)
    assert (code, out) == (2, "")
    assert service_start(env, tmp_path) == (1, err)  # the same line, where uWSGI stops with 1
    name, value = next(iter(setting.items()))
    assert err.startswith(f"forwarding: {name} is {value!r}: it must be ") and err.endswith("; not starting\n")


def test_config_check_of_a_damaged_database(tmp_path):
    path = tmp_path / "forwarding.db"
    path.write_bytes(b"no database\n" * 400)
    env = {"FORWARDING_DATABASE": str(path)}
    expected = f"forwarding: cannot use the database '{path}': file is not a database; not starting\n"
    assert forwarding("config", "--check", cwd=tmp_path, env=env) == (2, "", expected)
    assert service_start(env, tmp_path) == (1, expected)
    assert path.read_bytes() == b"no database\n" * 400


def test_config_check_of_good_settings(tmp_path, db_path):
    env_file = tmp_path / "forwarding.env"
    env_file.write_text(f"FORWARDING_DATABASE={db_path}\nFORWARDING_TOKEN_LIFETIME=600\n")
    before, stored = os.listdir(tmp_path), pathlib.Path(db_path).read_bytes()
    assert forwarding("--env-file", str(env_file), "config", "--check", cwd=tmp_path) == (
        0,
        f"OK: the settings ({env_file}); the database {db_path}, schema version 5.\n",
        "",
    )
    missing = tmp_path / "new" / "forwarding.db"
    assert pathlib.Path(db_path).read_bytes() == stored
    assert forwarding("config", "--check", cwd=tmp_path, env={"FORWARDING_DATABASE": str(missing)}) == (
        0,
        f"OK: the settings (the environment); no database at {missing} yet: the service makes it at its first start.\n",
        "",
    )
    # Nothing made but the writers' lock file, as the service makes it: no new database.
    assert sorted(set(os.listdir(tmp_path)) - set(before)) == ["forwarding.db-writer"]


def test_config_names_the_settings_file_and_the_schema(tmp_path, db_path):
    env_file = tmp_path / "forwarding.env"
    env_file.write_text(f"FORWARDING_DATABASE={db_path}\n")
    code, out, _ = forwarding("config", cwd=tmp_path, env={"FORWARDING_ENV_FILE": str(env_file)})
    assert (code, out.splitlines()[:2]) == (
        0,
        [f"# the settings file: {env_file}", f"# the database: {db_path}, schema version 5"],
    )


# -- bad arguments, in plain words ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["list", "--limit", "abc"], "--limit must be a whole number, at least 1, not 'abc'"),
        (["list", "--limit", "0"], "--limit must be a whole number, at least 1, not '0'"),
        (["history", "--limit", "1001"], "--limit must be a whole number, from 1 to 1000, not '1001'"),
        (["history", "--number", "-3"], "--number must be a whole number, from 1 to 9223372036854775807, not '-3'"),
        (["show", "1.5"], "FORWARD_NUMBER must be a whole number, from 1 to 9223372036854775807, not '1.5'"),
        (["unblock", "localhost"], "ADDRESS must be an IP address, not 'localhost'"),
    ],
)
def test_bad_arguments_in_plain_words(tmp_path, db_path, args, message):
    assert forwarding(*args, cwd=tmp_path, env={"FORWARDING_DATABASE": db_path}) == (2, "", f"Error: {message}\n")
