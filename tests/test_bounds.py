"""The bounds: the number of rules (FORWARDING_MAX_RULES), the history's bytes
(FORWARDING_HISTORY_MAX_BYTES), and the writes in progress (FORWARDING_WRITES_IN_PROGRESS)."""

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import ExitStack, closing
from pathlib import Path

import pytest

from forwarding.slots import Slots
from tests.conftest import AppCliRunner
from tests.helpers import ITEMS, LINK_ITEMS, assert_error, assert_json, item, listed, push, result, stored_rules

ITEM = "/api/v1/forward/item/{}"
HISTORY = "/api/v1/forward/history"
FIXTURES = Path(__file__).parent / "fixtures"
TOO_MANY_RULES_3 = "Too many forward rules: at most 3"


def stored_history(repo):
    """`(id, forward_number, size, bytes_before)` of every record, oldest first."""
    return repo.database.connection.execute(
        "SELECT id, forward_number, size, bytes_before FROM history ORDER BY id"
    ).fetchall()


@pytest.fixture
def bounded(make_app, basic_auth):
    """A client of an app that keeps at most 3 rules, holding 101, 102, 103 (link_ids 1, 2, 3)."""
    client = make_app(MAX_RULES=3).test_client()
    answer = push(client, basic_auth, item(1, 101, "1"), item(2, 102, "2"), item(3, 103, "3"))
    assert_json(answer, 200, result((1, "created"), (2, "created"), (3, "created")))  # exactly at the bound
    return client


AT_BOUND = {101: (1, ["1"]), 102: (2, ["2"]), 103: (3, ["3"])}


# -- the number of rules --------------------------------------------------------------------------


def test_a_push_one_past_the_bound_is_refused_whole(make_app, basic_auth, repo):
    client = make_app(MAX_RULES=3).test_client()
    push(client, basic_auth, item(1, 101, "1"))
    history_before = stored_history(repo)
    answer = push(client, basic_auth, item(1, 101, "9"), item(2, 102, "2"), item(3, 103, "3"), item(4, 104, "4"))
    assert_error(answer, 400, TOO_MANY_RULES_3)
    assert stored_rules(repo) == {101: (1, ["1"])}
    assert stored_history(repo) == history_before


def test_a_push_past_the_bound_that_removes_as_much_again_is_accepted(bounded, basic_auth, repo):
    # Four rules for a moment, three when it ends: the bound is on what the write leaves.
    answer = push(bounded, basic_auth, item(4, 104, "4"), item(1, 101))
    assert_json(answer, 200, result((4, "created"), (1, "deleted")))
    assert stored_rules(repo) == {102: (2, ["2"]), 103: (3, ["3"]), 104: (4, ["4"])}


def test_at_the_bound_a_push_that_replaces_moves_or_removes_is_accepted(bounded, basic_auth, repo):
    answer = push(bounded, basic_auth, item(1, 101, "9"), item(2, 105, "5"), item(3, 103))
    # link_id 2 moves to 105: 102 goes, so 105 is no rule more.
    assert_json(answer, 200, result((1, "updated"), (2, "created"), (3, "deleted")))
    assert stored_rules(repo) == {101: (1, ["9"]), 105: (2, ["5"])}


def test_at_the_bound_a_push_that_adds_one_is_refused(bounded, basic_auth, repo):
    history_before = stored_history(repo)
    assert_error(push(bounded, basic_auth, item(1, 101, "9"), item(4, 104, "4")), 400, TOO_MANY_RULES_3)
    assert (stored_rules(repo), stored_history(repo)) == (AT_BOUND, history_before)


def test_every_check_of_the_input_comes_before_the_bound(bounded, basic_auth, repo):
    answer = push(bounded, basic_auth, item(4, 104, "4"), item(5, 105, "5"), {"link_id": 6, "forward_number": 106})
    assert_error(answer, 400, "Wrong JSON body: no value for `forward_entity_list`")
    answer = bounded.post(ITEM.format(104), json={"forward_entity_list": ["x"]}, headers=basic_auth)
    assert_error(answer, 400, "Wrong JSON body: value `forward_entity_list` was of the wrong type")
    assert stored_rules(repo) == AT_BOUND


def test_one_rule_at_the_bound(bounded, basic_auth, repo):
    history_before = stored_history(repo)
    answer = bounded.post(ITEM.format(104), json={"forward_entity_list": ["4"]}, headers=basic_auth)
    assert_error(answer, 400, TOO_MANY_RULES_3)
    assert (stored_rules(repo), stored_history(repo)) == (AT_BOUND, history_before)
    # Replacing or removing one at the bound is accepted.
    assert_json(bounded.post(ITEM.format(101), json={"forward_entity_list": ["7"]}, headers=basic_auth), 200, {})
    assert_json(bounded.post(ITEM.format(102), json={"forward_entity_list": []}, headers=basic_auth), 200, {})
    assert stored_rules(repo) == {101: (1, ["7"]), 103: (3, ["3"])}
    assert_json(bounded.post(ITEM.format(104), json={"forward_entity_list": ["4"]}, headers=basic_auth), 200, {})
    assert stored_rules(repo) == {101: (1, ["7"]), 103: (3, ["3"]), 104: (None, ["4"])}


def test_the_default_bound_is_100000(client, auth, repo):
    assert push(client, auth, *[item(n, n, "1") for n in range(1, 100_001)]).status_code == 200
    answer = client.post(ITEM.format(100_001), json={"forward_entity_list": ["1"]}, headers=auth)
    assert_error(answer, 400, "Too many forward rules: at most 100000")
    assert repo.rules.count() == 100_000


def test_the_import_keeps_to_the_bound(make_app, repo, tmp_path):
    runner = AppCliRunner(make_app(MAX_RULES=2))
    path = tmp_path / "rules.json"
    rules = [{"link_id": n, "forward_number": n, "forward_entity_list": ["1"]} for n in (1, 2, 3)]
    path.write_text(json.dumps({"version": 1, "items": rules}))
    answer = runner.invoke(args=["import", str(path)])
    assert (answer.exit_code, answer.output) == (
        1,
        f"Error: {path}: it would leave more than 2 rules (FORWARDING_MAX_RULES); nothing was imported\n",
    )
    assert stored_rules(repo) == {}
    path.write_text(json.dumps({"version": 1, "items": rules[:2]}))
    assert runner.invoke(args=["import", str(path)]).exit_code == 0
    assert stored_rules(repo) == {1: (1, ["1"]), 2: (2, ["1"])}


# -- the history's bytes --------------------------------------------------------------------------


def put(client, headers, number, request_id, *entities):
    answer = client.post(
        ITEM.format(number),
        json={"forward_entity_list": list(entities)},
        headers={**headers, "X-Request-ID": request_id},
    )
    assert_json(answer, 200, {})


def history_ids(client, headers, query=""):
    answer = client.get(HISTORY + query, headers=headers)
    assert answer.status_code == 200
    body = answer.get_json()
    return [record["id"] for record in body["list_items"]], body["list_option"]["pagination"]


def test_the_oldest_records_past_the_bytes_are_pruned(make_app, basic_auth, repo):
    client = make_app(HISTORY_MAX_BYTES=200).test_client()
    answer = client.post(
        LINK_ITEMS,
        json={"list_items": [item(1, 101, "1"), item(2, 102, "2")]},
        headers={**basic_auth, "X-Request-ID": "r1"},
    )
    assert answer.status_code == 200
    # 48 for the numbers, then the text: "link", "r1", '["1"]' -> 59 bytes each.
    assert stored_history(repo) == [(1, 101, 59, 0), (2, 102, 59, 59)]
    put(client, basic_auth, 103, "r2", "3")  # "item", "r2", '["3"]': 59, 177 in all
    assert stored_history(repo) == [(1, 101, 59, 0), (2, 102, 59, 59), (3, 103, 59, 118)]
    put(client, basic_auth, 101, "r3", "4")  # '["1"]' before, '["4"]' after: 64, 241 in all: 1 goes
    assert stored_history(repo) == [(2, 102, 59, 59), (3, 103, 59, 118), (4, 101, 64, 177)]
    assert history_ids(client, basic_auth) == (
        [4, 3, 2],
        {"total_items": 3, "items_limit": 100, "total_pages": 1, "current_page": 1},
    )
    assert history_ids(client, basic_auth, "?limit=2&page_number=2") == (
        [2],
        {"total_items": 3, "items_limit": 2, "total_pages": 2, "current_page": 2},
    )
    assert history_ids(client, basic_auth, "?forward_number=101") == (
        [4],
        {"total_items": 1, "items_limit": 100, "total_pages": 1, "current_page": 1},
    )
    # Both bounds: the records' too.
    client = make_app(HISTORY_MAX_BYTES=200, HISTORY_LIMIT=2).test_client()
    put(client, basic_auth, 104, "r4", "5")  # 59
    assert stored_history(repo) == [(4, 101, 64, 177), (5, 104, 59, 241)]
    assert history_ids(client, basic_auth)[0] == [5, 4]


def test_the_newest_record_is_kept_whatever_its_size(make_app, basic_auth, repo):
    client = make_app(HISTORY_MAX_BYTES=50).test_client()
    put(client, basic_auth, 101, "r1", "1")  # 59 bytes
    assert stored_history(repo) == [(1, 101, 59, 0)]
    put(client, basic_auth, 102, "r2", "2")
    assert stored_history(repo) == [(2, 102, 59, 59)]
    assert history_ids(client, basic_auth) == (
        [2],
        {"total_items": 1, "items_limit": 100, "total_pages": 1, "current_page": 1},
    )


def test_the_history_of_schema_2_gains_its_sizes(make_app, tmp_path):
    # Written by the code of that schema (tests/fixtures/make_databases.py).
    path = tmp_path / "old.db"
    shutil.copyfile(FIXTURES / "schema-51bffda.db", path)
    make_app(DATABASE=str(path))
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT source, length(request_id), before_entities, after_entities, size, bytes_before"
            " FROM history ORDER BY id"
        ).fetchall()
        assert db.execute("PRAGMA user_version").fetchone() == (5,)
    entries_101, entries_102 = '["sip:101@sip.example.com", "vizit:101"]', '["1002"]'
    assert rows == [
        ("link", 32, None, entries_101, 48 + 4 + 32 + 40, 0),
        ("link", 32, None, entries_102, 48 + 4 + 32 + 8, 124),
        ("item", 32, None, '["laskomex:223"]', 48 + 4 + 32 + 16, 216),
        ("link", 32, entries_102, None, 48 + 4 + 32 + 8, 316),
    ]


# -- the writes in progress -----------------------------------------------------------------------


def taken(db_path, count):
    """Every one of `count` write slots of the database at `db_path`, taken by this process: the
    service's workers find them held as another worker's."""
    stack = ExitStack()
    slots = Slots(db_path + "-writes", count, owner_of=db_path)
    for _ in range(count):
        assert stack.enter_context(slots.try_take()) is True
    return stack


WRITES = [
    ("POST", LINK_ITEMS, {"list_items": [item(1, 101, "1")]}),
    ("POST", ITEM.format(101), {"forward_entity_list": ["1"]}),
    ("DELETE", ITEMS, {"uid_items": [101]}),
    ("DELETE", LINK_ITEMS, {"link_ids": [1]}),
]


@pytest.mark.parametrize("method, path, body", WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_a_write_over_the_writes_in_progress_is_429_at_once(client, basic_auth, repo, db_path, method, path, body):
    push(client, basic_auth, item(1, 101, "0"))
    with taken(db_path, 2):
        answer = client.open(path, method=method, json=body, headers=basic_auth)
        assert_error(answer, 429, "Too many requests")
        assert answer.headers["Retry-After"] == "1"
        # Its body is never read: a bad one is 429 too.
        answer = client.open(path, method=method, data=b"not json", headers=basic_auth)
        assert (answer.status_code, answer.headers["Retry-After"]) == (429, "1")
        # Reads are answered.
        answer = client.get(ITEMS, headers=basic_auth)
        assert_json(answer, 200, listed([{"forward_number": 101, "forward_entity_list": ["0"]}], 1))
    assert stored_rules(repo) == {101: (1, ["0"])}
    answer = client.open(path, method=method, json=body, headers=basic_auth)
    assert answer.status_code == 200


def test_authentication_and_the_path_come_before_the_slot(client, basic_auth, db_path):
    with taken(db_path, 2):
        assert_error(push(client, {}, item(1, 101, "1")), 401, "Log In")
        answer = client.post(ITEM.format(0), json={"forward_entity_list": ["1"]}, headers=basic_auth)
        assert_error(answer, 400, "Wrong JSON body: value `forward-uid` was of the wrong type")


def test_one_slot_free_is_enough(make_app, basic_auth, repo, db_path):
    client = make_app(WRITES_IN_PROGRESS=3).test_client()
    with taken(db_path, 2):
        assert_json(push(client, basic_auth, item(1, 101, "1")), 200, result((1, "created")))
    with taken(db_path, 3):
        assert push(client, basic_auth, item(1, 101, "2")).status_code == 429
    assert stored_rules(repo) == {101: (1, ["1"])}


def test_a_slot_of_a_process_that_dies_is_free(tmp_path):
    database = tmp_path / "forwarding.db"
    database.touch(mode=0o640)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from forwarding.slots import Slots\n"
            f"with Slots({str(database)!r} + '-writes', 1, owner_of={str(database)!r}).try_take() as taken:\n"
            "    print(taken, flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "True\n"
        slots = Slots(f"{database}-writes", 1, owner_of=database)
        with slots.try_take() as free:
            assert free is False
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with slots.try_take() as free:
        assert free is True
    assert oct((tmp_path / "forwarding.db-writes.0").stat().st_mode & 0o777) == "0o640"


def test_a_slot_is_never_opened_through_a_symbolic_link(tmp_path):
    database = tmp_path / "forwarding.db"
    database.touch()
    (tmp_path / "elsewhere").touch()
    (tmp_path / "forwarding.db-writes.0").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError), Slots(f"{database}-writes", 1, owner_of=database).try_take():
        pass
