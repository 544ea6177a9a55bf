"""Faults of the database: a full disk, a damaged or unreadable file, a read-only one.

A fault mid-request is a JSON 500 that leaves nothing half-written and a clear line in the log;
a database that cannot be used stops the service at start, with a clear message, and is left
exactly as it was.
"""

import sqlite3
from contextlib import closing

import pytest
from click.testing import CliRunner

from forwarding import UnusableDatabase, cli, create_app
from forwarding.repository import Repository
from helpers import stored_rules

LINK_ITEMS = "/api/v1/forward/items/link"
INTERNAL = (500, {"error": "Internal server error"})


def items(numbers, entities=("101",)):
    return {"list_items": [{"link_id": n, "forward_number": n, "forward_entity_list": list(entities)} for n in numbers]}


@pytest.fixture
def every_connection(monkeypatch):
    """`every_connection(pragma)`: from now on, the app's connections run `pragma` when opened."""
    connect = Repository.connect.__func__

    def install(pragma):
        def connect_with_pragma(cls, *args, **kwargs):
            repository = connect(cls, *args, **kwargs)
            repository.db.execute(pragma)
            return repository

        monkeypatch.setattr(Repository, "connect", classmethod(connect_with_pragma))

    return install


def answer(response):
    return response.status_code, response.get_json()


def test_a_disk_full_mid_push_is_a_500_that_writes_nothing(client, auth, repo, every_connection, caplog):
    assert client.post(LINK_ITEMS, json=items(range(1, 11)), headers=auth).status_code == 200
    before = stored_rules(repo)
    # The disk has room for two more pages; the push needs hundreds (its first items fit).
    every_connection(f"PRAGMA max_page_count = {repo.db.execute('PRAGMA page_count').fetchone()[0] + 2}")
    long_entries = [f"sip:{n}@sip{n}.bas-ip.com" for n in range(8)]
    assert answer(client.post(LINK_ITEMS, json=items(range(1, 5001), long_entries), headers=auth)) == INTERNAL
    assert stored_rules(repo) == before
    assert "database error, request not done: database or disk is full" in caplog.text
    assert "Traceback" not in caplog.text
    # The next request works, on the same full disk.
    response = client.post(LINK_ITEMS, json=items([3], ["vizit:3"]), headers=auth)
    assert response.get_json() == {"result": [{"link_id": 3, "success": True, "extended_info": "updated"}]}
    assert stored_rules(repo) == {**before, 3: (3, ["vizit:3"])}


def test_a_database_turned_read_only_answers_writes_with_a_500(client, auth, repo, every_connection, caplog):
    assert client.post(LINK_ITEMS, json=items([1]), headers=auth).status_code == 200
    before = stored_rules(repo)
    every_connection("PRAGMA query_only = ON")
    assert answer(client.post(LINK_ITEMS, json=items([1, 2]), headers=auth)) == INTERNAL
    assert answer(client.delete("/api/v1/forward/items", json={"uid_items": [1]}, headers=auth)) == INTERNAL
    assert "database error, request not done: attempt to write a readonly database" in caplog.text
    assert "Traceback" not in caplog.text
    assert stored_rules(repo) == before
    # Reading still works.
    response = client.get("/api/v1/forward/items", headers=auth)
    assert response.get_json()["list_items"] == [{"forward_number": 1, "forward_entity_list": ["101"]}]


def test_a_read_only_database_stops_the_start(db_path, every_connection):
    create_app({"TESTING": True, "DATABASE": db_path})
    every_connection("PRAGMA query_only = ON")
    with pytest.raises(UnusableDatabase) as refused:
        create_app({"TESTING": True, "DATABASE": db_path})
    assert str(refused.value) == (
        f"cannot use the database {db_path!r}: attempt to write a readonly database; not starting"
    )


def a_database_with_rules(path):
    create_app({"TESTING": True, "DATABASE": path})
    with closing(sqlite3.connect(path)) as db:
        with db:  # one transaction
            db.executemany("INSERT INTO rules VALUES (?, ?, '[\"101\"]')", [(n, n) for n in range(1, 3001)])
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the file
    with open(path, "rb") as file:
        return file.read()


def garbage(path):
    return b"this is no database, but somebody's notes\n" * 200


def a_damaged_page(path):
    content = bytearray(a_database_with_rules(path))
    content[3 * 4096:4 * 4096] = b"\xff" * 4096
    return bytes(content)


def cut_in_half(path):
    content = a_database_with_rules(path)
    return content[: len(content) // 2]


@pytest.mark.parametrize("damage, problem", [
    (garbage, "file is not a database"),
    (a_damaged_page, "database disk image is malformed"),
    (cut_in_half, "database disk image is malformed"),
])
def test_a_damaged_database_stops_the_start_and_stays_as_it_was(tmp_path, damage, problem):
    path = str(tmp_path / "forwarding.db")
    content = damage(path)
    with open(path, "wb") as file:
        file.write(content)
    with pytest.raises(UnusableDatabase) as refused:
        create_app({"TESTING": True, "DATABASE": path})
    assert str(refused.value).startswith(f"cannot use the database {path!r}: {problem}")
    with open(path, "rb") as file:
        assert file.read() == content


def test_a_database_that_cannot_be_opened_stops_the_start(tmp_path):
    path = tmp_path / "forwarding.db"
    path.mkdir()  # a directory where the file should be: what root cannot be refused by file modes
    with pytest.raises(UnusableDatabase) as refused:
        create_app({"TESTING": True, "DATABASE": str(path)})
    assert str(refused.value) == f"cannot use the database {str(path)!r}: unable to open database file; not starting"
    assert list(path.iterdir()) == []


def test_the_command_line_says_so_in_one_line(tmp_path):
    path = tmp_path / "forwarding.db"
    path.write_bytes(garbage(path))
    result = CliRunner().invoke(
        cli.main, ["set-password", "--password", "s3cret"], env={"FORWARDING_DATABASE": str(path)}
    )
    assert result.exit_code == 1
    assert result.output == f"Error: cannot use the database {str(path)!r}: file is not a database; not starting\n"
