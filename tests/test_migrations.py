"""Upgrades keep everything: a database made by the code of each commit that wrote a schema of its
own (tests/fixtures/, made by tests/fixtures/make_databases.py from a checkout of that commit) is
opened by today's service, which migrates it, and answers with every rule, every history record,
the password set and the device serial that database holds."""

import shutil
import sqlite3

import pytest

from forwarding.factory import create_app
from forwarding.storage.database import SCHEMA_VERSION
from tests.helpers import ITEMS, LINK_ITEMS, assert_json, basic, listed

FIXTURES = "tests/fixtures"
PASSWORD = "fixture-password-1"  # make_databases.py's FIXTURE_PASSWORD

# Each fixture's story (make_databases.py): 101 and 102 pushed by Link, 223 set alone, 102
# removed by a second push, then the password changed. The serial was made at its first start.
RULES = [
    {"forward_number": 101, "forward_entity_list": ["sip:101@sip.example.com", "vizit:101"]},
    {"forward_number": 223, "forward_entity_list": ["laskomex:223"]},
]
LINKED = [{"link_id": 1, **RULES[0]}]
SERIALS = {
    "514fc49": "EEF51C23C4634C60",
    "6c78eaf": "80721C8A36A24159",
    "37d1dea": "3662CA280E7E4FA2",
    "51bffda": "CC184F2C0AFC49D9",
}
# (id, source, forward_number, action) of the history: only 51bffda kept one; older databases
# gain an empty history, no record invented.
HISTORY = {
    "51bffda": [
        (4, "link", 102, "deleted"),
        (3, "item", 223, "created"),
        (2, "link", 102, "created"),
        (1, "link", 101, "created"),
    ],
}


@pytest.fixture(params=sorted(SERIALS))
def upgraded(request, tmp_path):
    """`(commit, client)`: the service started on a copy of that commit's database."""
    path = tmp_path / "forwarding.db"
    shutil.copyfile(f"{FIXTURES}/schema-{request.param}.db", path)
    app = create_app({"TESTING": True, "DATABASE": str(path)})
    return request.param, app.test_client(), str(path)


def test_every_rule_comes_through(upgraded):
    _, client, _ = upgraded
    auth = basic("admin", PASSWORD)
    assert_json(client.get(ITEMS, headers=auth), 200, listed(RULES, 2))
    assert_json(client.get(LINK_ITEMS, headers=auth), 200, listed(LINKED, 1))


def test_the_password_and_the_serial_come_through(upgraded):
    commit, client, _ = upgraded
    assert client.get(ITEMS, headers=basic("admin", "123456")).status_code == 401
    assert client.get(ITEMS, headers=basic("admin", PASSWORD)).status_code == 200
    assert client.get("/api/info").get_json()["device_serial_number"] == SERIALS[commit]


def test_every_history_record_comes_through(upgraded):
    commit, client, _ = upgraded
    records = client.get("/api/v1/forward/history", headers=basic("admin", PASSWORD)).get_json()["list_items"]
    shown = [(record["id"], record["source"], record["forward_number"], record["action"]) for record in records]
    assert shown == HISTORY.get(commit, [])


def test_the_database_has_the_newest_schema_after(upgraded):
    _, _, path = upgraded
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _schema(path):
    with sqlite3.connect(path) as connection:
        return sorted(
            connection.execute("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        )


def test_an_upgraded_database_has_the_tables_and_indexes_of_a_new_one(upgraded, tmp_path):
    _, _, path = upgraded
    create_app({"TESTING": True, "DATABASE": str(tmp_path / "new.db")})
    assert _schema(path) == _schema(str(tmp_path / "new.db"))


def test_the_database_is_backed_up_before_it_is_migrated(tmp_path, caplog):
    path = tmp_path / "forwarding.db"
    shutil.copyfile(f"{FIXTURES}/schema-37d1dea.db", path)
    create_app({"TESTING": True, "DATABASE": str(path)})
    (kept,) = tmp_path.glob("forwarding.db.before-upgrade-*")
    assert (
        f"the database has schema 1, this code {SCHEMA_VERSION}: backed it up to {kept}, now migrating" in caplog.text
    )
    # The copy is the database as it was: schema 1, its rules, readable by the code that made it.
    with sqlite3.connect(kept) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (1,)
        assert connection.execute("SELECT forward_number, link_id FROM rules ORDER BY 1").fetchall() == [
            (101, 1),
            (223, None),
        ]
    assert oct(kept.stat().st_mode & 0o777) == "0o600"


def test_a_new_or_current_database_is_not_backed_up(tmp_path):
    path = tmp_path / "forwarding.db"
    create_app({"TESTING": True, "DATABASE": str(path)})  # new
    create_app({"TESTING": True, "DATABASE": str(path)})  # current
    assert list(tmp_path.glob("*.before-upgrade-*")) == []
