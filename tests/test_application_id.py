"""Whose database it is: this service's SQLite files carry its application_id (0x46574431,
"FWD1"); its older ones, with 0 there, are known by their tables; another application's file is
refused, unwritten, at the start, in the commands and in a restore."""

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from forwarding.factory import UnusableDatabase
from forwarding.storage import Storage
from tests.test_cli import forwarding

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("schema-*.db"))


def header(path):
    """`(application_id, user_version, journal mode bytes)` read from the file's header itself."""
    data = Path(path).read_bytes()[:100]
    return int.from_bytes(data[68:72], "big"), int.from_bytes(data[60:64], "big"), (data[18], data[19])


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_a_new_database_is_this_services(make_app, tmp_path):
    path = tmp_path / "new.db"
    make_app(DATABASE=str(path))
    assert header(path) == (0x46574431, 5, (2, 2))  # WAL


def test_a_new_empty_file_is_a_new_database(make_app, tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    make_app(DATABASE=str(path))
    assert header(path) == (0x46574431, 5, (2, 2))


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_an_older_database_is_known_by_its_tables_and_gains_the_id(make_app, tmp_path, fixture):
    path = tmp_path / "forwarding.db"
    shutil.copyfile(fixture, path)
    assert header(path)[0] == 0
    make_app(DATABASE=str(path))
    assert header(path) == (0x46574431, 5, (2, 2))
    with closing(Storage(str(path))) as storage:
        assert [(number, entities) for _, number, entities in storage.rules.each_rule()] == [
            (101, ["sip:101@sip.example.com", "vizit:101"]),
            (223, ["laskomex:223"]),
        ]


def test_an_older_database_that_litestream_replicated_is_still_known(make_app, tmp_path):
    path = tmp_path / "forwarding.db"
    shutil.copyfile(FIXTURES[0], path)
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER)")
        db.execute("CREATE TABLE _litestream_lock (id INTEGER)")
        db.commit()
    make_app(DATABASE=str(path))
    assert header(path)[:2] == (0x46574431, 5)


def foreign(path, application_id=0, tables=("items", "users")):
    """Another application's SQLite file, in its own journal mode (DELETE), user_version 7."""
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA application_id = {application_id}")
        db.execute("PRAGMA user_version = 7")
        for table in tables:
            db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute(f"INSERT INTO {tables[0]} (name) VALUES ('theirs')")
        db.commit()
    return digest(path)


FOREIGN = {
    "another id": (0x12345678, ("items",), "it is not a forwarding database: application_id 0x12345678"),
    "a negative id": (-2, ("items",), "it is not a forwarding database: application_id 0xfffffffe"),
    "other tables": (0, ("items", "users"), "it has tables of another application: items, users"),
    "ours and others": (0, ("rules", "account", "items"), "it has tables of another application: items"),
    "some of ours": (
        0,
        ("rules", "history"),
        "it is not a forwarding database: without the tables account, settings, tokens",
    ),
}


@pytest.mark.parametrize(("application_id", "tables", "what"), FOREIGN.values(), ids=FOREIGN)
def test_a_foreign_file_is_refused_unwritten(make_app, tmp_path, application_id, tables, what):
    path = tmp_path / "theirs.db"
    before = foreign(path, application_id, tables)
    with pytest.raises(UnusableDatabase) as refused:
        make_app(DATABASE=str(path))
    assert str(refused.value) == f"cannot use the database '{path}': {what}"
    assert digest(path) == before  # no WAL, no table, user_version 7 still
    assert header(path) == (application_id % 2**32, 7, (1, 1))
    assert sorted(p.name for p in tmp_path.glob("theirs*")) == ["theirs.db", "theirs.db-writer"]


def test_the_command_line_refuses_a_foreign_file(tmp_path):
    path = tmp_path / "theirs.db"
    before = foreign(path, 0x12345678)
    code, out, err = forwarding("list", cwd=tmp_path, env={"FORWARDING_DATABASE": str(path)})
    # A database the command cannot use is refused (1), as a damaged one (test_cli.py).
    assert (code, out, err) == (
        1,
        "",
        f"Error: cannot use the database '{path}': it is not a forwarding database: application_id 0x12345678\n",
    )
    assert digest(path) == before


def test_the_start_refuses_a_foreign_file(tmp_path):
    path = tmp_path / "theirs.db"
    before = foreign(path)
    run = subprocess.run(
        [sys.executable, "-c", "import forwarding.startcheck"],
        env={"FORWARDING_DATABASE": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert (run.returncode, run.stdout, run.stderr) == (
        1,
        "",
        f"forwarding: cannot use the database '{path}': it has tables of another application: items, users;"
        " not starting\n",
    )
    assert digest(path) == before
