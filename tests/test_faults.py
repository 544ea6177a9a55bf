"""Faults of the database: a full disk, a damaged or unreadable file, a read-only one.

A fault mid-request is a JSON 500 that leaves nothing half-written, says what SQLite said in
the log, and does not stop the next request; a database that cannot be used stops the service
at start with a one-line message, and is left exactly as it was.
"""

import os
import sqlite3
from contextlib import closing

import pytest
from click.testing import CliRunner

from forwarding import cli
from forwarding.db import get_storage
from forwarding.factory import UnusableDatabase, create_app
from forwarding.storage import Database
from tests.helpers import assert_error, assert_json, item, push, result, stored_rules


def assert_internal_error(response):
    assert_error(response, 500, "Internal server error")


@pytest.fixture
def every_connection(monkeypatch, app):
    """`every_connection(pragma)`: from now on, the app's connections run `pragma`: the one it
    keeps between requests, and each one opened later."""
    open_ = Database.open.__func__

    def install(pragma):
        def open_with_pragma(cls, *args, **kwargs):
            database = open_(cls, *args, **kwargs)
            database.connection.execute(pragma)
            return database

        monkeypatch.setattr(Database, "open", classmethod(open_with_pragma))
        with app.app_context():
            get_storage().database.connection.execute(pragma)

    return install


def test_a_disk_full_mid_push_is_a_500_that_writes_nothing(client, auth, repo, every_connection, caplog):
    assert push(client, auth, *(item(n, n, "101") for n in range(1, 11))).status_code == 200
    before = stored_rules(repo)
    # The disk has room for two more pages; the push needs hundreds (its first items fit).
    pages = repo.database.connection.execute("PRAGMA page_count").fetchone()[0]
    every_connection(f"PRAGMA max_page_count = {pages + 2}")
    long_entries = [f"sip:{n}@sip{n}.bas-ip.com" for n in range(8)]
    assert_internal_error(push(client, auth, *(item(n, n, *long_entries) for n in range(1, 5001))))
    assert stored_rules(repo) == before
    assert "database or disk is full" in caplog.text
    # The next request works, on the same full disk.
    assert_json(push(client, auth, item(3, 3, "vizit:3")), 200, result((3, "updated")))
    assert stored_rules(repo) == {**before, 3: (3, ["vizit:3"])}


def test_a_database_turned_read_only_answers_writes_with_a_500(client, auth, repo, every_connection, caplog):
    assert push(client, auth, item(1, 1, "101")).status_code == 200
    before = stored_rules(repo)
    every_connection("PRAGMA query_only = ON")
    assert_internal_error(push(client, auth, item(1, 1, "102"), item(2, 2, "102")))
    assert_internal_error(client.delete("/api/v1/forward/items", json={"uid_items": [1]}, headers=auth))
    assert "attempt to write a readonly database" in caplog.text
    assert stored_rules(repo) == before
    # Reading still works.
    response = client.get("/api/v1/forward/items", headers=auth)
    assert response.get_json()["list_items"] == [{"forward_number": 1, "forward_entity_list": ["101"]}]


def test_a_read_only_database_stops_the_start(make_app, db_path, every_connection):
    every_connection("PRAGMA query_only = ON")
    with pytest.raises(UnusableDatabase) as refused:
        make_app()
    assert str(refused.value) == (f"cannot use the database {db_path!r}: attempt to write a readonly database")


@pytest.fixture
def with_rules(db_path):
    """The test's database file with 3000 rules in it, all of it in the file itself."""
    with closing(sqlite3.connect(db_path)) as db:
        with db:  # one transaction
            db.executemany("INSERT INTO rules VALUES (?, ?, '[\"101\"]')", [(n, n) for n in range(1, 3001)])
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(db_path, "rb") as file:
        return file.read()


GARBAGE = b"this is no database, but somebody's notes\n" * 200


def garbage(content):
    return GARBAGE


def a_damaged_page(content):
    return content[: 3 * 4096] + b"\xff" * 4096 + content[4 * 4096 :]


def cut_in_half(content):
    return content[: len(content) // 2]


@pytest.mark.parametrize(
    "damage, problem",
    [
        (garbage, "file is not a database"),
        (a_damaged_page, "database disk image is malformed"),
        (cut_in_half, "database disk image is malformed"),
    ],
)
def test_a_damaged_database_stops_the_start_and_stays_as_it_was(make_app, db_path, with_rules, damage, problem):
    content = damage(with_rules)
    with open(db_path, "wb") as file:
        file.write(content)
    with pytest.raises(UnusableDatabase) as refused:
        make_app()
    assert str(refused.value).startswith(f"cannot use the database {db_path!r}: {problem}")
    with open(db_path, "rb") as file:
        assert file.read() == content


def test_a_database_that_cannot_be_opened_stops_the_start(tmp_path):
    path = tmp_path / "forwarding.db"
    path.mkdir()  # a directory where the file should be: what root cannot be refused by file modes
    with pytest.raises(UnusableDatabase) as refused:
        create_app({"TESTING": True, "DATABASE": str(path)})
    assert str(refused.value) == f"cannot use the database {str(path)!r}: unable to open database file"
    assert list(path.iterdir()) == []


def test_the_command_line_says_so_in_one_line(tmp_path):
    path = tmp_path / "forwarding.db"
    path.write_bytes(GARBAGE)
    run = CliRunner().invoke(cli.main, ["set-password", "--password", "s3cret"], env={"FORWARDING_DATABASE": str(path)})
    assert run.exit_code == 1  # refused: the database cannot be used (README, "The `forwarding` command")
    assert run.output == f"Error: cannot use the database {str(path)!r}: file is not a database\n"


def test_a_lock_file_that_cannot_be_opened_stops_the_start(make_app, db_path):
    lock_path = db_path + "-writer"
    os.mkdir(lock_path)  # a directory where the writers' lock file should be
    with pytest.raises(UnusableDatabase) as refused:
        make_app()
    assert str(refused.value) == (
        f"cannot use the database {db_path!r}: unable to open the lock file {lock_path}: Is a directory"
    )
