"""The command on a deployed host: run as root, it acts on the service's database as the service's
user, refuses anything at the database path but a regular file, and writes the operator's own
files as root. Run as root over files of another user (a uid and gid with no name, as the
service's), through the installed command."""

import os
import pathlib
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile

import pytest

from forwarding.storage import Storage
from tests.helpers import set_password_on_a_terminal, stored_rules

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root gives files to other users")

FORWARDING = str(pathlib.Path(sys.executable).with_name("forwarding"))
SERVICE = (4321, 4322)  # the service's user and group
WARNING = (
    "Warning: the account still has the factory password; change it with `forwarding set-password`"
    " (deployed: `/opt/forwarding/.venv/bin/forwarding set-password`, as root)\n"
)


@pytest.fixture
def host():
    """A deployed host in a directory of its own: `state/` the service's (0750, as systemd's
    StateDirectory), `forwarding.env` root's, naming `state/forwarding.db`. Every directory
    above it may be passed by the service's user."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="forwarding-host-"))
    root.chmod(0o755)
    state = root / "state"
    state.mkdir(mode=0o750)
    os.chown(state, *SERVICE)
    env_file = root / "forwarding.env"
    env_file.write_text(f"FORWARDING_DATABASE={state / 'forwarding.db'}\n")
    env_file.chmod(0o640)
    yield root
    shutil.rmtree(root)


def forwarding(host, *args, input=None, env=None):
    """`forwarding` as root types it on the host, the settings file being the host's: `(code, stdout, stderr)`."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith("FORWARDING_")}
    environ["FORWARDING_ENV_FILE"] = str(host / "forwarding.env")
    run = subprocess.run(
        [FORWARDING, *args],
        cwd=host,
        env={**environ, **(env or {})},
        input=input,
        capture_output=True,
        text=True,
        timeout=30,  # a FIFO waited on would hang here
    )
    return run.returncode, run.stdout, run.stderr


def owners(directory):
    """Each file of `directory`: (uid, gid, mode)."""
    return {
        path.name: (path.lstat().st_uid, path.lstat().st_gid, stat.S_IMODE(path.lstat().st_mode))
        for path in directory.iterdir()
    }


def settings(host):
    return f"(settings: {host / 'forwarding.env'})"


@pytest.fixture
def service_database(host):
    """The service's database, made by `init` as root: every file the service's user's."""
    database = host / "state" / "forwarding.db"
    code, out, err = forwarding(host, "init")
    assert (code, out, err) == (0, f"Created the database {database} {settings(host)}.\n", WARNING)
    return database


def test_init_as_root_makes_the_service_s_files(host, service_database):
    assert owners(host / "state") == {
        "forwarding.db": (*SERVICE, 0o640),  # 0660 less the tests' umask, as the service makes it
        "forwarding.db-writer": (*SERVICE, 0o640),
    }
    assert forwarding(host, "init") == (
        0,
        f"The database {service_database} {settings(host)} is there already: nothing to do.\n",
        WARNING,
    )


def test_a_command_as_root_changes_the_service_s_database_as_its_user(host, service_database):
    before = owners(host / "state")
    code, out, err = forwarding(host, "set-password", "--password-stdin", input="a-new-password\n")
    assert (code, err) == (0, "")
    assert out == (
        f"Password of 'admin' changed in {service_database} {settings(host)}; 0 tokens revoked:"
        " every client must log in again.\n"
    )
    assert owners(host / "state") == before  # SQLite's -wal and -shm come and go with the last connection
    storage = Storage(str(service_database))
    assert not storage.access.account().is_default
    storage.close()
    # What the service's user alone may read, root's command read too: as that user.
    assert forwarding(host, "list") == (0, f"No rules in {service_database} {settings(host)}.\n", "")


def test_export_is_written_as_root_the_database_left_the_service_s(host, service_database):
    output = host / "rules.json"
    code, out, err = forwarding(host, "export", "-o", str(output))
    assert (code, out, err) == (0, f"Exported 0 rules from {service_database} {settings(host)} to {output}.\n", "")
    assert output.read_text() == '{"version": 1, "items": []}\n'
    assert (output.stat().st_uid, output.stat().st_gid, stat.S_IMODE(output.stat().st_mode)) == (0, 0, 0o600)
    assert {owner[:2] for owner in owners(host / "state").values()} == {SERVICE}
    assert sorted(owners(host / "state")) == ["forwarding.db", "forwarding.db-writer"]  # closed: no -wal, -shm
    assert sorted(path.name for path in host.iterdir()) == ["forwarding.env", "rules.json", "state"]


def test_export_refuses_a_symlinked_directory_unless_asked(host, service_database):
    elsewhere = host / "elsewhere"
    elsewhere.mkdir()
    (host / "exports").symlink_to(elsewhere)
    output = host / "exports" / "rules.json"
    code, out, err = forwarding(host, "export", "-o", str(output))
    assert (code, out, err) == (
        1,
        "",
        f"Error: {host / 'exports'} is a symbolic link: not writing through it (--follow-symlinks allows it)\n",
    )
    assert list(elsewhere.iterdir()) == []
    code, out, err = forwarding(host, "export", "--follow-symlinks", "-o", str(output))
    assert (code, out) == (0, f"Exported 0 rules from {service_database} {settings(host)} to {output}.\n")
    assert (elsewhere / "rules.json").read_text() == '{"version": 1, "items": []}\n'


def test_a_failed_export_leaves_nothing(host, service_database):
    output = host / "rules.json"
    output.write_text("old\n")
    os.chmod(service_database, 0o000)  # the child cannot read it
    code, out, err = forwarding(host, "export", "-o", str(output))
    assert (code, out) == (1, "")
    assert err == f"Error: {service_database} is not readable by its owner, uid 4321 (mode 0000)\n"
    assert output.read_text() == "old\n"
    assert sorted(path.name for path in host.iterdir()) == ["forwarding.env", "rules.json", "state"]


# -- bad input at the database path: one line, exit 1, nothing made or changed ---------------------


def _foreign_sqlite(path):
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (text TEXT)")
    connection.execute("INSERT INTO notes VALUES ('another application')")
    connection.commit()
    connection.close()


def plant(kind, database, target):
    """What the service's user (or an intruder running as it) left at the database path."""
    if kind == "directory":
        database.mkdir()
    elif kind == "dangling symlink":
        database.symlink_to(target)
    elif kind == "symlink to a SQLite file":
        _foreign_sqlite(target)
        database.symlink_to(target)
    elif kind == "FIFO":
        os.mkfifo(database)
    elif kind == "unreadable":
        Storage(str(database)).close()
        os.chown(f"{database}-writer", *SERVICE)
        database.chmod(0o000)
    os.chown(database, *SERVICE, follow_symlinks=False)


REFUSALS = {
    "directory": "{database} is a directory, not a database file",
    "dangling symlink": "{database} is a symbolic link to {target}, not a database file: not followed",
    "symlink to a SQLite file": "{database} is a symbolic link to {target}, not a database file: not followed",
    "FIFO": "{database} is a FIFO (named pipe), not a database file",
    "unreadable": "{database} is not readable by its owner, uid 4321 (mode 0000)",
}


@pytest.mark.parametrize("kind", REFUSALS)
@pytest.mark.parametrize("command", [["list"], ["init"], ["set-password", "--password", "long-enough"]])
def test_anything_but_a_regular_file_is_refused(host, kind, command):
    database, target = host / "state" / "forwarding.db", host / "target.db"
    plant(kind, database, target)
    before = owners(host / "state")
    target_before = target.read_bytes() if target.exists() else None
    code, out, err = forwarding(host, *command)
    assert (code, out, err) == (1, "", f"Error: {REFUSALS[kind].format(database=database, target=target)}\n")
    assert owners(host / "state") == before
    assert (target.read_bytes() if target.exists() else None) == target_before
    if kind == "symlink to a SQLite file":
        connection = sqlite3.connect(target)
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == [("notes",)]
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        connection.close()


def test_a_fifo_as_the_lock_file_is_refused_at_once(host, service_database):
    lock_file = host / "state" / "forwarding.db-writer"
    lock_file.unlink()
    os.mkfifo(lock_file)
    os.chown(lock_file, *SERVICE)
    code, out, err = forwarding(host, "list")
    assert (code, out) == (1, "")
    assert err == (
        f"Error: cannot use the database '{service_database}': unable to open the lock file {lock_file}:"
        " not a regular file of its own\n"
    )
    assert stat.S_ISFIFO(lock_file.lstat().st_mode)


def test_the_rules_survive_a_root_command(host, service_database):
    """A command that writes, as root, leaves the rules where the service reads them."""
    rules = host / "rules.json"
    rules.write_text('{"version": 1, "items": [{"forward_number": 101, "forward_entity_list": ["101"]}]}')
    rules.chmod(0o600)  # root's own: the command reads it before it becomes the service's user
    code, out, err = forwarding(host, "import", str(rules))
    assert (code, err) == (0, "")
    assert out == (
        f"Imported 1 rule from {rules} (export) into {service_database} {settings(host)}:"
        " 1 created, 0 updated, 0 unchanged, 0 removed.\n"
    )
    storage = Storage(str(service_database))
    assert stored_rules(storage) == {101: (None, ["101"])}
    storage.close()


def test_a_root_database_in_the_service_s_directory_is_refused_with_the_way_out(host):
    """What an `init` run as root before left: files the service cannot open."""
    database = host / "state" / "forwarding.db"
    Storage(str(database)).close()
    before = owners(host / "state")
    code, out, err = forwarding(host, "list")
    assert (code, out) == (1, "")
    assert err == (
        f"Error: {database} is root's, in a directory of uid 4321, whose service cannot open it:"
        f" give it to uid 4321 (chown 4321: {database}*) or remove it\n"
    )
    assert owners(host / "state") == before


def test_set_password_asks_on_the_terminal_as_the_service_s_user(host, service_database):
    """The prompt comes after the command has become the service's user: what it needs is loaded before."""
    env = {"FORWARDING_ENV_FILE": str(host / "forwarding.env")}
    code, text = set_password_on_a_terminal(FORWARDING, host, env)
    assert code == 0
    assert text.endswith(
        f"Password of 'admin' changed in {service_database} {settings(host)}; 0 tokens revoked:"
        " every client must log in again.\n"
    )


def test_backup_and_restore_as_root_with_root_s_own_files(host, service_database):
    """The backup is written as root into root's own directory; restore reads it from there."""
    backups = host / "backups"
    backups.mkdir(mode=0o700)
    target = backups / "forwarding.db"
    code, out, err = forwarding(host, "backup", str(target))
    assert (code, err) == (0, "")
    assert out.startswith(f"Backed up {service_database} {settings(host)} to {target}: ")
    status = target.stat()
    assert (status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode)) == (0, 0, 0o600)
    assert sorted(owners(host / "state")) == ["forwarding.db", "forwarding.db-writer"]  # no copy left beside
    code, out, err = forwarding(host, "restore", str(target))
    assert (code, err) == (0, ""), out
    assert f"into {service_database} {settings(host)}: 0 rules, 0 history records.\n" in out
    assert {owner[:2] for owner in owners(host / "state").values()} == {SERVICE}  # the kept copy too
