"""The storage layer on its own: no Flask, its schema's numbered migrations, and the limits that
reach the checks only as given."""

import json
import sqlite3
import subprocess
import sys
from contextlib import closing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forwarding import rulefile, schemas
from forwarding.factory import UnusableDatabase
from forwarding.storage import Storage, database
from forwarding.storage import rules as storage_rules
from tests.helpers import stored_rules

PLAIN_MODULES = [
    "forwarding.storage",
    "forwarding.storage.database",
    "forwarding.storage.rules",
    "forwarding.storage.access",
    "forwarding.storage.writelock",
    "forwarding.throttle",
    "forwarding.messages",
]


@pytest.mark.parametrize("module", PLAIN_MODULES)
def test_importing_a_plain_module_loads_no_web_framework(module):
    code = (
        f"import sys, {module}; "
        "print([m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug', 'jinja2', 'click')])"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_the_strings_import_nothing_of_the_storage():
    code = "import sys, forwarding.messages; print([m for m in sys.modules if m.startswith('forwarding.storage')])"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def tables_and_columns(path):
    with closing(sqlite3.connect(path)) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")]
        columns = {table: [row[1] for row in db.execute(f"PRAGMA table_info({table})")] for table in tables}
        return db.execute("PRAGMA user_version").fetchone()[0], columns


NEWEST = (
    5,
    {
        "account": ["id", "username", "password_hash", "is_default"],
        "address_failures": ["address", "failures", "window_start"],
        "history": [
            "id",
            "time_ms",
            "source",
            "request_id",
            "forward_number",
            "before_link_id",
            "before_entities",
            "after_link_id",
            "after_entities",
            "size",
            "bytes_before",
        ],
        "login_failures": ["key", "failures", "window_start", "blocked_until", "address"],
        "rules": ["forward_number", "link_id", "entities"],
        "settings": ["name", "value"],
        "tokens": ["digest", "expires_at"],
        "verified_credentials": ["digest", "expires_at"],
    },
)


def test_a_new_database_has_the_newest_schema(make_app, tmp_path):
    path = str(tmp_path / "new.db")
    make_app(DATABASE=path)
    assert tables_and_columns(path) == NEWEST


# Schema 1 had three shapes: the first tables; then address_failures; then login_failures.address too.
SCHEMA_1 = ["DROP TABLE history", "INSERT INTO rules VALUES (101, 7, '[\"101\"]')", "PRAGMA user_version = 1"]
NO_ADDRESS_COLUMN = "ALTER TABLE login_failures DROP COLUMN address"
SHAPES = {
    "first": [*SCHEMA_1, "DROP TABLE address_failures", NO_ADDRESS_COLUMN],
    "address_failures": [*SCHEMA_1, NO_ADDRESS_COLUMN],
    "address column": SCHEMA_1,
}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES)
def test_each_shape_of_schema_1_is_brought_to_the_newest(make_app, db_path, shape):
    with closing(sqlite3.connect(db_path)) as db:
        for statement in shape:
            db.execute(statement)
        db.commit()
    make_app()
    assert tables_and_columns(db_path) == NEWEST
    with closing(Storage(db_path)) as storage:
        assert storage.rules.rule(101) == (7, ["101"])


def test_a_database_of_a_newer_forwarding_is_refused_untouched(make_app, db_path):
    with closing(sqlite3.connect(db_path)) as db:
        db.execute("PRAGMA user_version = 6")
    with open(db_path, "rb") as file:
        before = file.read()
    with pytest.raises(UnusableDatabase) as refused:
        make_app()
    assert str(refused.value) == (
        f"cannot use the database {db_path!r}: made by a newer forwarding (schema 6; this code knows up to 5)"
    )
    with open(db_path, "rb") as file:
        assert file.read() == before


def test_newer_schema_is_a_database_error():
    assert issubclass(database.NewerSchema, sqlite3.DatabaseError)
    assert str(database.NewerSchema(7)) == "made by a newer forwarding (schema 7; this code knows up to 5)"


# -- the limits reach the checks as given ---------------------------------------------------------


def test_a_schema_loaded_outside_the_limits_fails_loudly():
    with pytest.raises(RuntimeError, match=r"^schemas\.limits\(\.\.\.\) not in force$"):
        schemas.forward_item.load({"forward_entity_list": ["101"]})
    with pytest.raises(RuntimeError, match=r"^schemas\.limits\(\.\.\.\) not in force$"):
        schemas.link_items.load({"list_items": [{"link_id": 1, "forward_number": 1, "forward_entity_list": ["1"]}]})


def test_a_schema_loaded_inside_the_limits_uses_them():
    with schemas.limits(max_entities=2):
        assert schemas.forward_item.load({"forward_entity_list": ["1", "2"]}) == {"forward_entity_list": ["1", "2"]}


def test_the_rule_file_takes_its_limit_as_given():
    document = b'{"version": 1, "items": [{"forward_number": 1, "forward_entity_list": ["1", "2", "3"]}]}'
    assert rulefile.load(document, 3) == ("export", [(None, 1, ["1", "2", "3"])])
    with pytest.raises(rulefile.BadFile) as refused:
        rulefile.load(document, 2)
    assert str(refused.value) == (
        "items[0]: `forward_entity_list` must be a list of at most 2 forward numbers, each digits (101), laskomex:N,"
        " vizit:N or a SIP URI (sip:100@sip.bas-ip.com, sip:192.168.1.2; the patterns: docs/api.md, section 3.1),"
        ' not ["1", "2", "3"]'
    )


def test_a_rule_is_created_only_where_its_number_is_free(repo):
    """The first step of a pushed rule's write writes nothing onto a taken number, not even the
    removal of the rule that holds the link_id: its count of rows tells `created` from `updated`."""
    repo.rules.apply_link_items([(5, 101, ["101"]), (6, 102, ["102"])])
    db = repo.database.connection
    assert db.execute(storage_rules.CREATE, (102, 5, '["vizit:1"]')).rowcount == 0
    assert db.execute(storage_rules.CREATE, (101, 5, '["vizit:1"]')).rowcount == 0
    assert stored_rules(repo) == {101: (5, ["101"]), 102: (6, ["102"])}
    assert db.execute(storage_rules.CREATE, (103, 5, '["vizit:1"]')).rowcount == 1
    assert stored_rules(repo) == {102: (6, ["102"]), 103: (5, ["vizit:1"])}


@given(st.lists(st.text(max_size=20)))
def test_a_rules_list_is_stored_as_json_dumps_writes_it(entities):
    assert storage_rules.entities_text(entities) == json.dumps(entities)


def test_a_rules_list_is_stored_with_every_character_escaped_as_json_dumps_does():
    entities = ["1", 'a"b\\c', "\n\x00\x7f", "é€😀", "\u2028", ""]
    assert storage_rules.entities_text(entities) == (
        r'["1", "a\"b\\c", "\n\u0000\u007f", "\u00e9\u20ac\ud83d\ude00", "\u2028", ""]'
    )
