"""`forwarding backup` and `forwarding restore` (README, "Backups"): what they print, what the
copy and the restored database hold, and every path or file they refuse, with nothing changed.
The drills against the running service are in tests/e2e/test_e2e_backups.py."""

import datetime
import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import tempfile
from contextlib import closing
from pathlib import Path

import pytest

from forwarding import credentials
from forwarding.storage import Storage
from forwarding.storage import backup as backups
from tests.helpers import ITEMS, assert_error, bearer, item, log_in, md5, push, stored_rules
from tests.test_cli import FORWARDING, forwarding

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("schema-*.db"))
FIXTURE_PASSWORD = "fixture-password-1"  # tests/fixtures/make_databases.py
BACKUP_PASSWORD = "backup-password-1"


class UtcClock:
    """`backup.utc_now` under the test's control."""

    def __init__(self):
        self.now = datetime.datetime(2026, 12, 3, 8, 0, 0, tzinfo=datetime.UTC)

    def __call__(self):
        return self.now

    def set(self, hour, minute):
        self.now = self.now.replace(hour=hour, minute=minute)


@pytest.fixture
def utc(monkeypatch):
    clock = UtcClock()
    monkeypatch.setattr(backups, "utc_now", clock)
    return clock


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def rows(path):
    """Every row of every table of the database at `path`, read without writing to it."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return list(db.iterdump())


def contents(path):
    """What a copy holds: its rules, history records, tokens, account's username and settings."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return {
            "rules": db.execute("SELECT forward_number, link_id, entities FROM rules ORDER BY 1").fetchall(),
            "history": db.execute("SELECT count(*) FROM history").fetchone()[0],
            "tokens": db.execute("SELECT count(*) FROM tokens").fetchone()[0],
            "account": db.execute("SELECT username FROM account").fetchall(),
            "settings": dict(db.execute("SELECT name, value FROM settings")),
            "integrity": db.execute("PRAGMA integrity_check").fetchall(),
        }


def serial_of(path):
    return setting_of(path, "device_serial")


def setting_of(path, name):
    with closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as db:
        return db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()[0]


def journal_bytes(path):
    """Bytes 18 and 19 of the header: (1, 1) a rollback journal, (2, 2) WAL."""
    data = Path(path).read_bytes()
    return data[18], data[19]


def beside(path):
    """The files in the directory of `path`, but SQLite's -wal and -shm, which come and go."""
    return sorted(p.name for p in Path(path).parent.iterdir() if not p.name.endswith(("-wal", "-shm")))


# -- backup ----------------------------------------------------------------------------------------


def test_backup(client, auth, runner, db_path, tmp_path, utc):
    push(client, auth, item(1, 101, "sip:101@sip.bas-ip.com"), item(2, 102, "1002"))
    assert (
        client.post("/api/v1/forward/item/223", json={"forward_entity_list": ["223"]}, headers=auth).status_code == 200
    )
    target = tmp_path / "copies" / "forwarding-backup.db"
    target.parent.mkdir()
    outcome = runner.invoke(args=["backup", str(target)])
    assert (outcome.exit_code, outcome.stdout) == (
        0,
        f"Backed up {db_path} to {target}: 61,440 bytes, 3 rules, 3 history records, taken 2026-12-03T08:00:00Z.\n",
    )
    assert target.stat().st_size == 61440
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert beside(target) == ["forwarding-backup.db"]  # no temporary file, no journal, no log
    assert journal_bytes(target) == (1, 1)  # one self-contained file
    assert contents(target) == {
        "rules": [(101, 1, '["sip:101@sip.bas-ip.com"]'), (102, 2, '["1002"]'), (223, None, '["223"]')],
        "history": 3,
        "tokens": 1,
        "account": [("admin",)],
        "settings": {
            "device_serial": serial_of(db_path),
            "database_id": setting_of(db_path, "database_id"),
            "history_issued": "3",
            "rules_version": "2",
            "backup_taken_at": "2026-12-03T08:00:00Z",
        },
        "integrity": [("ok",)],
    }
    assert "backup_taken_at" not in contents(db_path)["settings"]  # noted in the copy alone


def test_backup_replaces_a_file_there_whole(runner, db_path, tmp_path, utc):
    target = tmp_path / "old.db"
    target.write_text("an older backup")
    target.chmod(0o644)
    outcome = runner.invoke(args=["backup", str(target)])
    assert outcome.exit_code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert contents(target)["integrity"] == [("ok",)]


def test_a_relative_path_is_taken_from_the_working_directory(runner, db_path, tmp_path, utc, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outcome = runner.invoke(args=["backup", "here.db"])
    assert (outcome.exit_code, outcome.stdout) == (
        0,
        f"Backed up {db_path} to {tmp_path}/here.db: 61,440 bytes, 0 rules, 0 history records,"
        " taken 2026-12-03T08:00:00Z.\n",
    )


def make_link(path):
    target = path.parent / "elsewhere.db"
    target.write_text("someone else's")
    path.symlink_to(target)


def make_fifo(path):
    os.mkfifo(path)


def make_file(path):
    path.write_text("a file")


BAD_TARGETS = {
    "empty": ("", None, "the path is empty"),
    "missing directory": ("nowhere/copy.db", None, "{tmp}/nowhere: no such directory"),
    "a file as directory": ("file/copy.db", lambda p: make_file(p.parent), "{tmp}/file is not a directory"),
    "a symbolic link": ("link.db", make_link, "{tmp}/link.db is a symbolic link: not writing through it"),
    "a dangling link": (
        "dangling.db",
        lambda p: p.symlink_to(p.parent / "none"),
        "{tmp}/dangling.db is a symbolic link: not writing through it",
    ),
    "a directory": ("dir.db", lambda p: p.mkdir(), "{tmp}/dir.db is a directory"),
    "a FIFO": ("fifo.db", make_fifo, "{tmp}/fifo.db is not a regular file"),
    "the database": ("forwarding.db", None, "{tmp}/forwarding.db is the service's database"),
    "its log": ("forwarding.db-wal", None, "{tmp}/forwarding.db-wal is the -wal file of the service's database"),
    "its lock file": (
        "forwarding.db-writer",
        None,
        "{tmp}/forwarding.db-writer is the -writer file of the service's database",
    ),
    "a password check slot": (
        "forwarding.db-hash.1",
        None,
        "{tmp}/forwarding.db-hash.1 is the -hash.1 file of the service's database",
    ),
    "a write slot": (
        "forwarding.db-writes.0",
        None,
        "{tmp}/forwarding.db-writes.0 is the -writes.0 file of the service's database",
    ),
}


@pytest.mark.parametrize(("name", "make", "message"), BAD_TARGETS.values(), ids=BAD_TARGETS)
def test_a_bad_backup_path_is_refused_before_any_work(runner, db_path, tmp_path, name, make, message):
    path = tmp_path / name
    if make:
        make(path)
    listing, before = beside(db_path), rows(db_path)
    link_target = path.parent / "elsewhere.db"
    outcome = runner.invoke(args=["backup", str(path) if name else ""])
    assert (outcome.exit_code, outcome.output) == (1, f"Error: {message.format(tmp=tmp_path)}\n")
    assert (beside(db_path), rows(db_path)) == (listing, before)
    if link_target.exists():
        assert link_target.read_text() == "someone else's"


def test_a_directory_it_may_not_write_in_is_refused(db_path):
    """As an operator who is not root (root may write in any directory): under root, the installed
    command as uid 4321, on its own database in a directory every user may enter."""
    operator = [] if os.geteuid() else ["setpriv", "--reuid=4321", "--regid=4321", "--clear-groups"]
    home = Path(tempfile.mkdtemp())
    try:
        home.chmod(0o755)
        database, closed = home / "forwarding.db", home / "closed"
        shutil.copyfile(db_path, database)
        closed.mkdir(mode=0o500)
        if not os.geteuid():
            for path in (home, database, closed):
                os.chown(path, 4321, 4321)
        before = rows(str(database))
        run = subprocess.run(
            [*operator, FORWARDING, "backup", str(closed / "copy.db")],
            cwd=home,
            env={"PATH": os.environ["PATH"], "FORWARDING_ENV_FILE": "", "FORWARDING_DATABASE": str(database)},
            capture_output=True,
            text=True,
        )
        refused = f"Error: cannot write in {closed}: permission denied\n"
        assert (run.returncode, run.stdout, run.stderr) == (1, "", refused)
        assert list(closed.iterdir()) == []
        assert rows(str(database)) == before
    finally:
        shutil.rmtree(home)


def test_a_failed_backup_leaves_nothing_and_the_old_file_whole(runner, db_path, tmp_path, monkeypatch):
    target = tmp_path / "copies" / "copy.db"
    target.parent.mkdir()
    target.write_text("the last good backup")

    def fail(connection):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(backups, "_counts", fail)
    outcome = runner.invoke(args=["backup", str(target)])
    assert (outcome.exit_code, outcome.output) == (
        1,
        f"Error: backup to {target} failed, nothing written: disk I/O error\n",
    )
    assert beside(target) == ["copy.db"]
    assert target.read_text() == "the last good backup"


# -- restore ---------------------------------------------------------------------------------------


@pytest.fixture
def backup_file(template, tmp_path, utc):
    """A backup of another device's database, taken at 08:00 UTC: two rules, a password of its
    own, a serial of its own, a token."""
    other = tmp_path / "other" / "forwarding.db"
    other.parent.mkdir()
    shutil.copyfile(template[0], other)
    with closing(Storage(str(other))) as storage:
        storage.rules.import_rules([(7, 500, ["sip:500@sip.bas-ip.com"]), (None, 501, ["501"])])
        storage.access.set_account("admin", credentials.hash_password(BACKUP_PASSWORD))
        storage.access.add_token("f" * 64, 4102444800, 0)
        with storage.database.transaction() as db:
            db.execute("UPDATE settings SET value = 'RESTORED-SERIAL-1' WHERE name = 'device_serial'")
        path = tmp_path / "saved" / "forwarding-2026-12-03.db"
        path.parent.mkdir()
        backups.backup(storage.database.connection, str(path))
    return path


def test_restore_while_the_service_runs(app, client, auth, runner, db_path, backup_file, repo, utc):
    push(client, auth, item(1, 101, "sip:101@sip.bas-ip.com"))
    second_token = log_in(client).get_json()["token"]
    old_serial = client.get("/api/info").get_json()["device_serial_number"]
    worker = Storage(db_path)  # another worker's connection, kept across the restore
    assert worker.rules.rule(101) == (1, ["sip:101@sip.bas-ip.com"])
    saved, mtime = digest(backup_file), backup_file.stat().st_mtime_ns
    utc.set(9, 30)

    outcome = runner.invoke(args=["restore", str(backup_file)])
    assert (outcome.exit_code, outcome.stdout) == (
        0,
        f"Kept the database it replaces as {db_path}.before-restore-20261203T093000Z (61,440 bytes).\n"
        f"Restored {backup_file}, taken 2026-12-03T08:00:00Z, into {db_path}: 2 rules, 2 history records.\n"
        "Revoked 2 tokens: every client must log in again; the backup's password is now in force.\n",
    )
    # Every connection answers from the backup: the one kept, the app's, a new one.
    restored = {500: (7, ["sip:500@sip.bas-ip.com"]), 501: (None, ["501"])}
    assert (worker.rules.rule(101), worker.rules.rule(500)) == (None, (7, ["sip:500@sip.bas-ip.com"]))
    assert stored_rules(repo) == restored
    worker.close()
    assert client.get("/api/info").get_json()["device_serial_number"] == "RESTORED-SERIAL-1"
    for token in (auth, bearer(second_token), bearer("f" * 64)):
        assert_error(client.get(ITEMS, headers=token), 401, "Log In")
    assert_error(log_in(client), 400, "Wrong login or password")
    new_token = log_in(client, password=md5(BACKUP_PASSWORD)).get_json()["token"]
    listed = client.get(ITEMS, headers=bearer(new_token)).get_json()["list_items"]
    assert [rule["forward_number"] for rule in listed] == [500, 501]

    after = contents(db_path)
    database_id = after["settings"].pop("database_id")
    assert after["settings"] == {
        "device_serial": "RESTORED-SERIAL-1",
        "rules_version": "1",
        "backup_taken_at": "2026-12-03T08:00:00Z",
        "restored_at": "2026-12-03T09:30:00Z",
        # The backup's records 1 and 2 follow the replaced database's record 1 and theirs: 3 and 4.
        "history_issued": "4",
        "history_barrier": "4",
    }
    # A new database id: no ETag of either database names the restored one.
    assert database_id not in (setting_of(backup_file, "database_id"), setting_of(kept_path(db_path), "database_id"))
    assert re.fullmatch("[0-9a-f]{32}", database_id)
    assert (after["history"], after["tokens"], after["integrity"]) == (2, 1, [("ok",)])  # the new login's token
    # The database it replaced, whole, beside it; the backup untouched; nothing else left.
    kept = Path(f"{db_path}.before-restore-20261203T093000Z")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert contents(kept)["rules"] == [(101, 1, '["sip:101@sip.bas-ip.com"]')]
    assert (contents(kept)["tokens"], serial_of(kept)) == (2, old_serial)
    assert (digest(backup_file), backup_file.stat().st_mtime_ns) == (saved, mtime)
    assert beside(db_path) == [
        "forwarding.db",
        "forwarding.db-hash.0",
        "forwarding.db-writer",
        "forwarding.db-writes.0",  # the slot of the writes in progress (slots.py)
        "forwarding.db.before-restore-20261203T093000Z",
        "other",
        "saved",
    ]


def kept_path(db_path):
    return Path(f"{db_path}.before-restore-20261203T093000Z")


def test_two_restores_in_one_second_keep_both_databases(runner, db_path, backup_file, utc):
    utc.set(9, 30)
    assert runner.invoke(args=["restore", str(backup_file)]).exit_code == 0
    outcome = runner.invoke(args=["restore", str(backup_file)])
    assert outcome.stdout.splitlines()[0] == (
        f"Kept the database it replaces as {db_path}.before-restore-20261203T093000Z-2 (61,440 bytes)."
    )


def test_a_backup_of_another_page_size_is_restored(runner, db_path, backup_file, repo):
    with closing(sqlite3.connect(backup_file)) as db:
        db.execute("PRAGMA page_size = 8192")
        db.execute("VACUUM")
    outcome = runner.invoke(args=["restore", str(backup_file)])
    assert outcome.exit_code == 0, outcome.output
    assert sorted(stored_rules(repo)) == [500, 501]
    assert repo.database.connection.execute("PRAGMA page_size").fetchone() == (4096,)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_a_database_of_each_older_schema_is_restored_from_a_copy_of_it(
    app, client, runner, db_path, tmp_path, repo, fixture, utc
):
    old = tmp_path / "old" / fixture.name
    old.parent.mkdir()
    shutil.copyfile(fixture, old)
    saved = digest(old)
    has_history = fixture.name == "schema-51bffda.db"
    outcome = runner.invoke(args=["restore", str(old)])
    assert (outcome.exit_code, outcome.stdout) == (
        0,
        f"Kept the database it replaces as {db_path}.before-restore-20261203T080000Z (61,440 bytes).\n"
        f"Restored {old}, taken unknown (not made by `forwarding backup`), into {db_path}:"
        f" 2 rules, {4 if has_history else 0} history records.\n"
        "Revoked 1 token: every client must log in again; the backup's password is now in force.\n",
    )
    assert stored_rules(repo) == {101: (1, ["sip:101@sip.example.com", "vizit:101"]), 223: (None, ["laskomex:223"])}
    assert client.get("/api/info").get_json()["device_serial_number"] == serial_of(fixture)
    assert log_in(client, password=md5(FIXTURE_PASSWORD)).status_code == 200
    assert digest(old) == saved and beside(old) == [fixture.name]  # only read
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (5,)
        assert db.execute("PRAGMA application_id").fetchone() == (0x46574431,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def empty_sqlite(path):
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("DROP TABLE t")


def foreign(path, application_id=0, tables=("items", "users")):
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA application_id = {application_id}")
        for table in tables:
            db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")


def newer(path, backup_file):
    shutil.copyfile(backup_file, path)
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA user_version = 6")


def damaged(path, backup_file):
    data = bytearray(backup_file.read_bytes())
    data[4096 * 3 : 4096 * 5] = b"\xa5" * 8192  # two pages of the tables overwritten
    path.write_bytes(bytes(data))


def unreadable_not_sqlite(path, backup_file):
    path.write_bytes(b"SQLite format 3\0" + b"\x00" * 84 + b"garbage" * 1000)


BAD_SOURCES = {
    "missing": (None, "{path}: no such file"),
    "a directory": (lambda p, b: p.mkdir(), "{path} is a directory"),
    "a symbolic link": (lambda p, b: p.symlink_to(b), "{path} is a symbolic link: give the file it names"),
    "a FIFO": (lambda p, b: os.mkfifo(p), "{path} is not a regular file"),
    "empty": (lambda p, b: p.touch(), "{path} is empty"),
    "not SQLite": (
        lambda p, b: p.write_text(json.dumps({"version": 1, "items": []})),
        "{path} is not an SQLite database",
    ),
    "an SQLite header on garbage": (unreadable_not_sqlite, "{path} is damaged: file is not a database"),
    "damaged": (
        damaged,
        "{path} is damaged: database disk image is malformed:"
        " *** in database main *** Page 5: btreeInitPage() returns error code 11",
    ),
    "no tables": (lambda p, b: empty_sqlite(p), "{path} is an SQLite database without tables, not a backup"),
    "another application_id": (
        lambda p, b: foreign(p, 0x12345678, ("rules",)),
        "{path} is not a forwarding database: application_id 0x12345678",
    ),
    "another application's tables": (lambda p, b: foreign(p), "{path} has tables of another application: items, users"),
    "newer": (newer, "{path} was made by a newer forwarding (schema 6; this code knows up to 5)"),
}


@pytest.mark.parametrize(("make", "message"), BAD_SOURCES.values(), ids=BAD_SOURCES)
def test_a_bad_backup_is_refused_and_nothing_changes(client, runner, db_path, tmp_path, backup_file, make, message):
    path = tmp_path / "backup.db"
    if make:
        make(path, backup_file)
    listing, before = beside(db_path), rows(db_path)
    outcome = runner.invoke(args=["restore", str(path)])
    assert (outcome.exit_code, outcome.output) == (1, f"Error: {message.format(path=path)}; nothing changed\n")
    assert (beside(db_path), rows(db_path)) == (listing, before)
    assert client.get("/api/info").get_json()["device_serial_number"] != "RESTORED-SERIAL-1"


def test_the_database_itself_is_no_backup(runner, db_path, tmp_path):
    (tmp_path / "link").symlink_to(tmp_path)  # by another name too
    before = rows(db_path)
    for path in (db_path, f"{tmp_path}/link/forwarding.db"):
        outcome = runner.invoke(args=["restore", path])
        assert (outcome.exit_code, outcome.output) == (1, f"Error: {path} is the service's database; nothing changed\n")
    assert rows(db_path) == before


def test_a_restore_on_a_new_host_makes_the_database_first(tmp_path, backup_file):
    """The installed command, as the README's quarterly drill runs it: no database there yet."""
    database = tmp_path / "drill" / "forwarding.db"
    code, out, err = forwarding("restore", str(backup_file), cwd=tmp_path, env={"FORWARDING_DATABASE": str(database)})
    assert code == 0, err
    assert out.splitlines()[1:] == [
        f"Restored {backup_file}, taken 2026-12-03T08:00:00Z, into {database}: 2 rules, 2 history records.",
        "Revoked 0 tokens: every client must log in again; the backup's password is now in force.",
    ]
    assert contents(database)["rules"] == [(500, 7, '["sip:500@sip.bas-ip.com"]'), (501, None, '["501"]')]
    assert serial_of(database) == "RESTORED-SERIAL-1"


def test_restored_marks_a_database_litestream_brought_back(client, auth, runner, db_path, repo):
    push(client, auth, item(1, 101, "1001"), item(2, 102, "1002"))  # history records 1 and 2
    etag = client.get(ITEMS, headers=auth).headers["ETag"]
    outcome = runner.invoke(args=["restored"])
    # 2 ids issued, then 2**32 that the lost host may have issued: the records follow them.
    assert (outcome.exit_code, outcome.stdout) == (
        0,
        f"Marked {db_path} as restored: the history's ids go on after 4,294,967,300.\n",
    )
    assert [row[0] for row in repo.database.connection.execute("SELECT id FROM history ORDER BY id")] == [
        4294967299,
        4294967300,
    ]
    assert (repo.database.setting("history_barrier"), repo.database.setting("history_issued")) == ("4294967300",) * 2
    assert stored_rules(repo) == {101: (1, ["1001"]), 102: (2, ["1002"])}
    # The tokens still work; every ETag and every cursor before the barrier is gone.
    listed = client.get(ITEMS, headers=auth)
    assert listed.status_code == 200 and listed.headers["ETag"] != etag
    assert_error(client.get("/api/v1/forward/history?after_id=2", headers=auth), 410, "History pruned past after_id")
    push(client, auth, item(3, 103, "1003"))
    following = client.get("/api/v1/forward/history?after_id=4294967300", headers=auth).get_json()
    assert [record["id"] for record in following["list_items"]] == [4294967301]
