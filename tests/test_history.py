"""GET /api/v1/forward/history: every change to a rule, by every path, its net effect only."""

import json
import logging
import sqlite3

import pytest

from forwarding.storage import rules as storage_rules
from tests.helpers import answer, assert_error, expected, item, listed, push, stored_rules

HISTORY = "/api/v1/forward/history"
ITEM = "/api/v1/forward/item/{}"
START = 1796033704.12  # 2026-11-30T10:15:04.120Z


@pytest.fixture
def now(clock):
    """The clock at START; each write moves it on by 1.5 s, so each transaction has its own time."""
    clock.now = START
    return clock


def record(id_, time, source, request_id, number, action, before=None, after=None):
    """One record as the API shows it; `before` and `after` are `(link_id, entities)` or None."""
    shown = {"id": id_, "time": time, "source": source}
    if request_id is not None:
        shown["request_id"] = request_id
    return {
        **shown,
        "forward_number": number,
        "action": action,
        "before": before and rule(*before),
        "after": after and rule(*after),
    }


def rule(link_id, entities):
    return {**({} if link_id is None else {"link_id": link_id}), "forward_entity_list": entities}


def page(items, total, limit=100, page_number=1):
    """The whole body of a history answer: a list's, without its sort."""
    pagination = listed(items, total, limit, page_number)["list_option"]["pagination"]
    return {"list_items": items, "list_option": {"pagination": pagination}}


def history(client, headers, query=""):
    return client.get(f"{HISTORY}{query}", headers=headers)


def stored_history(repo):
    """Every record in the database, oldest first, as its columns."""
    return repo.database.connection.execute(
        "SELECT id, time_ms, source, request_id, forward_number, before_link_id, before_entities,"
        " after_link_id, after_entities FROM history ORDER BY id"
    ).fetchall()


class Writes:
    """Requests as the clients send them, each with its own X-Request-ID, and the clock moved on after each."""

    def __init__(self, client, headers, clock):
        self.client, self.headers, self.clock = client, headers, clock
        self.count = 0

    def _send(self, method, path, body):
        self.count += 1
        request_id = f"req-{self.count}"
        response = self.client.open(
            path, method=method, json=body, headers={**self.headers, "X-Request-ID": request_id}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.headers["X-Request-ID"] == request_id
        self.clock.advance(1.5)
        return request_id

    def push(self, *items):
        return self._send("POST", "/api/v1/forward/items/link", {"list_items": list(items)})

    def put(self, number, *entities):
        return self._send("POST", ITEM.format(number), {"forward_entity_list": list(entities)})

    def delete(self, *numbers):
        return self._send("DELETE", "/api/v1/forward/items", {"uid_items": list(numbers)})

    def delete_linked(self, *link_ids):
        return self._send("DELETE", "/api/v1/forward/items/link", {"link_ids": list(link_ids)})


@pytest.fixture
def writes(client, basic_auth, now):
    return Writes(client, basic_auth, now)


T0, T1, T2, T3 = (
    "2026-11-30T10:15:04.120Z",
    "2026-11-30T10:15:05.620Z",
    "2026-11-30T10:15:07.120Z",
    "2026-11-30T10:15:08.620Z",
)


# -- each source and action ----------------------------------------------------------------------


def test_a_push_records_created_updated_and_deleted(client, basic_auth, repo, writes):
    first = writes.push(item(1, 101, "1001"), item(2, 102, "sip:102@sip.bas-ip.com"))
    second = writes.push(item(1, 101, "1001", "vizit:101"), item(2, 102))
    response = history(client, basic_auth)
    assert answer(response) == expected(
        200,
        page(
            [
                # Within a transaction the removed rules come first.
                record(4, T1, "link", second, 101, "updated", (1, ["1001"]), (1, ["1001", "vizit:101"])),
                record(3, T1, "link", second, 102, "deleted", (2, ["sip:102@sip.bas-ip.com"]), None),
                record(2, T0, "link", first, 102, "created", None, (2, ["sip:102@sip.bas-ip.com"])),
                record(1, T0, "link", first, 101, "created", None, (1, ["1001"])),
            ],
            4,
        ),
    )
    assert stored_rules(repo) == {101: (1, ["1001", "vizit:101"])}
    time_ms = round(START * 1000)
    assert stored_history(repo)[0] == (1, time_ms, "link", first, 101, None, None, 1, '["1001"]')


def test_the_single_rule_records_created_updated_and_deleted(client, basic_auth, repo, writes):
    writes.push(item(7, 101, "1001"))
    created = writes.put(102, "102")
    updated = writes.put(101, "5")  # keeps its link_id
    deleted = writes.put(102)
    assert answer(history(client, basic_auth, "?limit=3")) == expected(
        200,
        page(
            [
                record(4, T3, "item", deleted, 102, "deleted", (None, ["102"]), None),
                record(3, T2, "item", updated, 101, "updated", (7, ["1001"]), (7, ["5"])),
                record(2, T1, "item", created, 102, "created", None, (None, ["102"])),
            ],
            4,
            limit=3,
        ),
    )
    assert stored_rules(repo) == {101: (7, ["5"])}


def test_both_deletes_record_deleted_once_per_rule(client, basic_auth, repo, writes):
    writes.push(item(1, 101, "1001"), item(2, 102, "1002"), item(3, 103, "1003"))
    by_number = writes.delete(101, 101, 999)  # the repeat and the unknown one change nothing
    by_link_id = writes.delete_linked(2, 2, 999)
    assert answer(history(client, basic_auth, "?limit=2")) == expected(
        200,
        page(
            [
                record(5, T2, "delete_link", by_link_id, 102, "deleted", (2, ["1002"]), None),
                record(4, T1, "delete", by_number, 101, "deleted", (1, ["1001"]), None),
            ],
            5,
            limit=2,
        ),
    )
    assert stored_rules(repo) == {103: (3, ["1003"])}


def write_file(tmp_path, items):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"version": 1, "items": items}))
    return str(path)


def test_the_import_records_without_a_request_id(client, basic_auth, repo, runner, writes, now, tmp_path):
    writes.push(item(1, 101, "1001"), item(2, 102, "1002"))
    path = write_file(
        tmp_path,
        [
            {"forward_number": 101, "forward_entity_list": ["1001", "vizit:1"]},  # keeps link_id 1
            {"link_id": 3, "forward_number": 103, "forward_entity_list": ["1003"]},
            {"forward_number": 102, "forward_entity_list": []},
        ],
    )
    result = runner.invoke(args=["import", path])
    assert result.exit_code == 0, result.output
    response = history(client, basic_auth, "?limit=3")
    assert answer(response) == expected(
        200,
        page(
            [
                record(5, T1, "import", None, 103, "created", None, (3, ["1003"])),
                record(4, T1, "import", None, 101, "updated", (1, ["1001"]), (1, ["1001", "vizit:1"])),
                record(3, T1, "import", None, 102, "deleted", (2, ["1002"]), None),
            ],
            5,
            limit=3,
        ),
    )
    assert stored_history(repo)[-1][3] is None


def test_import_replace_of_an_unchanged_file_records_nothing(client, basic_auth, repo, runner, writes, tmp_path):
    writes.push(item(1, 101, "1001"), item(2, 102, "1002"))
    writes.put(103, "1003")
    before = stored_history(repo)
    assert runner.invoke(args=["export", "-o", str(tmp_path / "backup.json")]).exit_code == 0
    result = runner.invoke(args=["import", "--replace", str(tmp_path / "backup.json")])
    assert result.exit_code == 0, result.output
    assert result.output.endswith(", replacing every rule: 0 created, 0 updated, 3 unchanged, 0 removed.\n")
    assert stored_history(repo) == before
    assert len(before) == 3


def test_import_replace_records_only_what_it_changed(client, basic_auth, repo, runner, writes, tmp_path):
    writes.push(item(1, 101, "1001"), item(2, 102, "1002"))
    path = write_file(tmp_path, [{"link_id": 1, "forward_number": 101, "forward_entity_list": ["1001"]}])
    assert runner.invoke(args=["import", "--replace", path]).exit_code == 0
    assert answer(history(client, basic_auth, "?limit=1")) == expected(
        200, page([record(3, T1, "import", None, 102, "deleted", (2, ["1002"]), None)], 3, limit=1)
    )
    assert stored_rules(repo) == {101: (1, ["1001"])}


# -- net changes ---------------------------------------------------------------------------------


def test_a_link_id_moved_by_a_push_is_the_old_rule_deleted_then_the_new_one(client, basic_auth, repo, writes):
    writes.push(item(1, 101, "1001"), item(2, 102, "1002"))
    moved = writes.push(item(1, 201, "2001"), item(2, 102, "1002", "1003"))
    # 201 takes link_id 1 from 101 (created); 102 is updated in place.
    assert answer(history(client, basic_auth, "?limit=3")) == expected(
        200,
        page(
            [
                record(5, T1, "link", moved, 201, "created", None, (1, ["2001"])),
                record(4, T1, "link", moved, 102, "updated", (2, ["1002"]), (2, ["1002", "1003"])),
                # Within a transaction the removed rules come first, then the others by forward_number.
                record(3, T1, "link", moved, 101, "deleted", (1, ["1001"]), None),
            ],
            5,
            limit=3,
        ),
    )
    assert stored_rules(repo) == {102: (2, ["1002", "1003"]), 201: (1, ["2001"])}


def test_a_link_id_moved_onto_an_existing_rule_is_a_deletion_then_an_update(client, basic_auth, repo, writes):
    writes.push(item(1, 101, "1001"))
    writes.put(201, "2001")
    moved = writes.push(item(1, 201, "2001"))
    assert answer(history(client, basic_auth, "?limit=2")) == expected(
        200,
        page(
            [
                record(4, T2, "link", moved, 201, "updated", (None, ["2001"]), (1, ["2001"])),
                record(3, T2, "link", moved, 101, "deleted", (1, ["1001"]), None),
            ],
            4,
            limit=2,
        ),
    )
    assert stored_rules(repo) == {201: (1, ["2001"])}


def test_the_same_push_again_records_nothing(client, basic_auth, repo, writes):
    building = [item(1, 101, "1001"), item(2, 102, "1002"), item(3, 103)]
    writes.push(*building)
    before = stored_history(repo)
    writes.push(*building)
    writes.put(101, "1001")  # the same entries: no change either
    writes.put(999)  # removes nothing
    assert stored_history(repo) == before
    assert len(before) == 2
    assert history(client, basic_auth).get_json()["list_option"]["pagination"]["total_items"] == 2


def test_a_number_named_twice_in_one_push_records_its_net_change(client, basic_auth, repo, writes):
    writes.push(item(1, 101, "1001"))
    twice = writes.push(
        item(1, 101, "5"),
        item(1, 101, "6"),  # 101 changed twice: one record, from the first state to the last
        item(2, 102, "1002"),
        item(2, 102),  # created then removed: nothing
        item(3, 103, "1003"),
        item(3, 103, "1003", "1004"),
        item(3, 103, "1003"),  # created, changed and changed back: created as it ends
    )
    assert answer(history(client, basic_auth, "?limit=2")) == expected(
        200,
        page(
            [
                record(3, T1, "link", twice, 103, "created", None, (3, ["1003"])),
                record(2, T1, "link", twice, 101, "updated", (1, ["1001"]), (1, ["6"])),
            ],
            3,
            limit=2,
        ),
    )
    assert stored_rules(repo) == {101: (1, ["6"]), 103: (3, ["1003"])}


def test_a_change_and_its_undoing_in_one_push_records_nothing(client, basic_auth, repo, writes):
    writes.push(item(1, 101, "1001"))
    writes.push(item(1, 101), item(1, 101, "1001"))  # removed and made again as it was
    assert len(stored_history(repo)) == 1


# -- filters and paging --------------------------------------------------------------------------


@pytest.fixture
def changes(writes):
    """Records 1..6: link_id 1 lives on 101, then moves to 201; 102 has no link_id."""
    writes.push(item(1, 101, "1001"))  # 1: 101 created with 1
    writes.put(102, "1002")  # 2: 102 created
    writes.put(101, "1001", "1002")  # 3: 101 updated
    writes.push(item(1, 201, "2001"))  # 4: 101 deleted, 5: 201 created with 1
    writes.put(102)  # 6: 102 deleted


def ids(response):
    assert response.status_code == 200
    return [record["id"] for record in response.get_json()["list_items"]], response.get_json()["list_option"]


@pytest.mark.parametrize(
    "query, expected_ids",
    [
        ("", [6, 5, 4, 3, 2, 1]),
        ("?forward_number=101", [4, 3, 1]),
        ("?forward_number=102", [6, 2]),
        ("?forward_number=201", [5]),
        ("?forward_number=999", []),
        ("?link_id=1", [5, 4, 3, 1]),  # before or after has it
        ("?link_id=2", []),
        ("?forward_number=101&link_id=1", [4, 3, 1]),
        ("?forward_number=102&link_id=1", []),  # both must match
        ("?forward_number=201&link_id=1&unknown=x", [5]),
    ],
)
def test_filters(client, basic_auth, changes, query, expected_ids):
    found, option = ids(history(client, basic_auth, query))
    assert found == expected_ids
    assert option == page([], len(expected_ids))["list_option"]


@pytest.mark.parametrize(
    "query, expected_ids, total, limit, page_number",
    [
        ("?limit=4", [6, 5, 4, 3], 6, 4, 1),
        ("?limit=4&page_number=2", [2, 1], 6, 4, 2),
        ("?limit=4&page_number=3", [], 6, 4, 3),  # past the end: empty
        ("?limit=1&page_number=6", [1], 6, 1, 6),
        ("?limit=1000", [6, 5, 4, 3, 2, 1], 6, 1000, 1),
        ("?link_id=1&limit=2&page_number=2", [3, 1], 4, 2, 2),
        ("?page_number=9223372036854775807", [], 6, 100, 9223372036854775807),
    ],
)
def test_paging(client, basic_auth, changes, query, expected_ids, total, limit, page_number):
    found, option = ids(history(client, basic_auth, query))
    assert found == expected_ids
    assert option == page([], total, limit, page_number)["list_option"]


# The cursor's bad values, and page_number with it (docs/api.md, 7.3): after 7.2's parameters.
BAD_CURSORS = [
    (f"?after_id={value}", "after_id")
    for value in ("", "-1", "abc", "1.5", "9223372036854775808", "%D9%A1", "+1", "1e3", "%201", "0x1")
] + [
    ("?forward_number=x&after_id=x", "forward_number"),
    ("?link_id=0&after_id=-1", "link_id"),
    ("?limit=1001&after_id=x", "limit"),
    # page_number and after_id together: page_number, whatever their values.
    ("?page_number=1&after_id=0", "page_number"),
    ("?after_id=0&page_number=2", "page_number"),
    ("?page_number=1&after_id=x", "page_number"),
    ("?page_number=x&after_id=0", "page_number"),
    ("?limit=x&page_number=1&after_id=0", "limit"),
]


@pytest.mark.parametrize(
    "query, name",
    [
        (f"?{name}={value}", name)
        for name in ("forward_number", "link_id", "limit", "page_number")
        for value in ("", "0", "-1", "abc", "1.5", "9223372036854775808", "%D9%A1", "+1", "1e3", "%201")
    ]
    + [
        ("?limit=1001", "limit"),
        ("?forward_number=x&link_id=x&limit=x&page_number=x", "forward_number"),
        ("?link_id=x&limit=x&page_number=x", "link_id"),
        ("?limit=0&page_number=0", "limit"),
    ]
    + BAD_CURSORS,
)
def test_a_bad_query_parameter_is_named(client, basic_auth, changes, repo, query, name):
    before = stored_history(repo)
    assert_error(history(client, basic_auth, query), 400, f"Wrong JSON body: value `{name}` was of the wrong type")
    assert stored_history(repo) == before


def test_authentication_comes_first(client, changes):
    assert_error(history(client, {}, "?limit=abc"), 401, "Log In")


# -- the limit -----------------------------------------------------------------------------------


def test_only_the_newest_records_are_kept(make_app, basic_auth, repo, now):
    client = make_app(HISTORY_LIMIT=3).test_client()
    writes = Writes(client, basic_auth, now)
    writes.push(item(1, 101, "1"), item(2, 102, "2"))  # records 1, 2
    writes.put(103, "3")  # 3
    assert [row[0] for row in stored_history(repo)] == [1, 2, 3]
    writes.push(item(1, 101, "4"), item(2, 102, "5"))  # 4, 5: 1 and 2 are pruned
    assert [row[0] for row in stored_history(repo)] == [3, 4, 5]
    writes.put(101)  # 6
    assert [row[0] for row in stored_history(repo)] == [4, 5, 6]
    found, option = ids(history(client, basic_auth, "?limit=2"))
    assert (found, option) == ([6, 5], page([], 3, limit=2)["list_option"])
    assert ids(history(client, basic_auth, "?forward_number=101"))[0] == [6, 4]


def test_a_lower_limit_shows_the_newest_at_once_and_prunes_at_the_next_write(make_app, basic_auth, repo, now):
    Writes(make_app().test_client(), basic_auth, now).push(*[item(n, n, "1") for n in range(1, 6)])
    client = make_app(HISTORY_LIMIT=2).test_client()
    assert ids(history(client, basic_auth))[0] == [5, 4]
    assert len(stored_history(repo)) == 5
    Writes(client, basic_auth, now).put(1, "2")
    assert [row[0] for row in stored_history(repo)] == [5, 6]


def test_a_limit_of_0_records_and_lists_nothing(make_app, basic_auth, repo, now):
    Writes(make_app().test_client(), basic_auth, now).push(item(1, 101, "1"))
    client = make_app(HISTORY_LIMIT=0).test_client()
    assert answer(history(client, basic_auth)) == expected(200, page([], 0))
    writes = Writes(client, basic_auth, now)
    writes.push(item(1, 101, "2"), item(2, 102, "2"))
    writes.put(103, "3")
    writes.delete(103)
    assert stored_history(repo) == []
    assert stored_rules(repo) == {101: (1, ["2"]), 102: (2, ["2"])}
    assert answer(history(client, basic_auth, "?forward_number=101")) == expected(200, page([], 0))


# -- the request id and atomicity ----------------------------------------------------------------


def test_the_request_id_is_the_answers_and_the_log_lines(client, basic_auth, caplog, now):
    caplog.set_level(logging.INFO, logger="forwarding.requests")
    response = push(client, basic_auth, item(1, 101, "1"))  # no X-Request-ID sent: one is made
    [line] = [r for r in caplog.records if r.name == "forwarding.requests"]
    [change] = history(client, basic_auth).get_json()["list_items"]
    assert change["request_id"] == response.headers["X-Request-ID"] == line.request["request_id"]
    assert f"request_id={change['request_id']}" in line.getMessage()


def test_a_failed_push_records_nothing(client, basic_auth, repo, writes, monkeypatch):
    writes.push(item(1, 101, "1"))
    before = stored_history(repo), stored_rules(repo)
    entities_text = storage_rules.entities_text
    monkeypatch.setattr(  # the second rule cannot be written
        storage_rules, "entities_text", lambda value: entities_text(value) if value != ["666"] else 1 / 0
    )
    response = push(client, basic_auth, item(1, 101, "2"), item(3, 103, "666"))
    assert_error(response, 500, "Internal server error")
    assert (stored_history(repo), stored_rules(repo)) == before


def test_a_record_that_cannot_be_written_undoes_the_change(client, basic_auth, repo, writes, monkeypatch):
    writes.push(item(1, 101, "1"))
    before = stored_history(repo), stored_rules(repo)
    monkeypatch.setattr(storage_rules, "RECORD", storage_rules.RECORD.replace("history", "no_such_table"))
    for method, path, body in [
        ("POST", "/api/v1/forward/items/link", {"list_items": [item(1, 101, "2")]}),
        ("POST", ITEM.format(101), {"forward_entity_list": ["2"]}),
        ("DELETE", "/api/v1/forward/items", {"uid_items": [101]}),
        ("DELETE", "/api/v1/forward/items/link", {"link_ids": [1]}),
    ]:
        assert_error(client.open(path, method=method, json=body, headers=basic_auth), 500, "Internal server error")
    assert (stored_history(repo), stored_rules(repo)) == before


def test_an_existing_database_gains_the_history(make_app, db_path, basic_auth):
    with sqlite3.connect(db_path) as db:
        db.execute("DROP TABLE history")
        db.execute("PRAGMA user_version = 1")
    client = make_app().test_client()
    push(client, basic_auth, item(1, 101, "1"))
    assert [r["forward_number"] for r in history(client, basic_auth).get_json()["list_items"]] == [101]
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (5,)


# -- the cursor (after_id) -----------------------------------------------------------------------

PRUNED = "History pruned past after_id"
INT64_MAX = 9223372036854775807


def after(items, after_id, next_after_id, limit=100):
    """The whole body of an answer by cursor."""
    cursor = {"after_id": after_id, "next_after_id": next_after_id, "items_limit": limit}
    return {"list_items": items, "list_option": {"cursor": cursor}}


def cursor_ids(response):
    """`(ids, cursor)` of a 200 by cursor."""
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    return [record["id"] for record in body["list_items"]], body["list_option"]["cursor"]


def test_the_cursor_answers_the_records_after_it_oldest_first(client, basic_auth, writes):
    first = writes.push(item(1, 101, "1001"))
    second = writes.put(102, "1002")
    assert answer(history(client, basic_auth, "?after_id=0")) == expected(
        200,
        after(
            [
                record(1, T0, "link", first, 101, "created", None, (1, ["1001"])),
                record(2, T1, "item", second, 102, "created", None, (None, ["1002"])),
            ],
            0,
            2,
        ),
    )
    assert answer(history(client, basic_auth, "?after_id=1&limit=1")) == expected(
        200, after([record(2, T1, "item", second, 102, "created", None, (None, ["1002"]))], 1, 2, limit=1)
    )
    assert answer(history(client, basic_auth, "?after_id=2")) == expected(200, after([], 2, 2))


@pytest.mark.parametrize("limit", [1, 3, 1000])
def test_following_from_0_to_the_end_with_writes_in_between(client, basic_auth, writes, limit):
    writes.push(item(1, 101, "1"), item(2, 102, "2"))  # 1, 2
    pending = [
        lambda: writes.put(103, "3"),  # 3
        lambda: writes.push(item(1, 101, "1", "11"), item(2, 102, "2")),  # 4 (102 unchanged)
        lambda: writes.delete(102, 999),  # 5
        lambda: writes.put(101, "111"),  # 6
    ]
    seen, after_id = [], 0
    while True:
        found, cursor = cursor_ids(history(client, basic_auth, f"?after_id={after_id}&limit={limit}"))
        assert len(found) <= limit
        assert cursor == {"after_id": after_id, "next_after_id": found[-1] if found else after_id, "items_limit": limit}
        if not found and not pending:
            break
        seen += found
        after_id = cursor["next_after_id"]
        if pending:
            pending.pop(0)()
    assert seen == [1, 2, 3, 4, 5, 6]
    records = history(client, basic_auth, "?after_id=0").get_json()["list_items"]
    assert [(r["id"], r["forward_number"], r["action"]) for r in records] == [
        (1, 101, "created"),
        (2, 102, "created"),
        (3, 103, "created"),
        (4, 101, "updated"),
        (5, 102, "deleted"),
        (6, 101, "updated"),
    ]


@pytest.mark.parametrize(
    "query, expected_ids, next_after_id",
    [
        ("?after_id=0", [1, 2, 3, 4, 5, 6], 6),
        ("?after_id=4", [5, 6], 6),
        ("?forward_number=101&after_id=0", [1, 3, 4], 4),
        ("?forward_number=101&after_id=1&limit=1", [3], 3),
        ("?forward_number=102&after_id=2", [6], 6),
        ("?link_id=1&after_id=3", [4, 5], 5),
        ("?forward_number=101&link_id=1&after_id=0&limit=2", [1, 3], 3),
        ("?forward_number=102&link_id=1&after_id=0", [], 0),  # both must match
        ("?forward_number=201&after_id=5", [], 5),
        ("?forward_number=999&after_id=6", [], 6),
    ],
)
def test_filters_with_the_cursor(client, basic_auth, changes, query, expected_ids, next_after_id):
    found, cursor = cursor_ids(history(client, basic_auth, query))
    assert (found, cursor["next_after_id"]) == (expected_ids, next_after_id)


def test_the_cursor_takes_0_and_the_largest_id(client, basic_auth, changes):
    assert cursor_ids(history(client, basic_auth, "?after_id=00"))[0] == [1, 2, 3, 4, 5, 6]
    assert_error(history(client, basic_auth, f"?after_id={INT64_MAX}"), 410, PRUNED)


def test_authentication_then_the_query_come_before_the_410(client, basic_auth, changes):
    assert_error(history(client, {}, "?after_id=99&limit=x"), 401, "Log In")
    assert_error(history(client, {}, "?after_id=99"), 401, "Log In")
    assert_error(
        history(client, basic_auth, "?after_id=99&limit=x"), 400, "Wrong JSON body: value `limit` was of the wrong type"
    )
    assert_error(history(client, basic_auth, "?after_id=99"), 410, PRUNED)


def test_past_the_newest_id_is_410(client, basic_auth, writes, repo):
    assert answer(history(client, basic_auth, "?after_id=0")) == expected(200, after([], 0, 0))
    assert_error(history(client, basic_auth, "?after_id=1"), 410, PRUNED)
    writes.push(item(1, 101, "1"), item(2, 102, "2"))
    assert cursor_ids(history(client, basic_auth, "?after_id=1")) == ([2], after([], 1, 2)["list_option"]["cursor"])
    assert answer(history(client, basic_auth, "?after_id=2")) == expected(200, after([], 2, 2))
    assert_error(history(client, basic_auth, "?after_id=3"), 410, PRUNED)
    assert [row[0] for row in stored_history(repo)] == [1, 2]


def test_pruned_past_the_cursor_is_410(make_app, basic_auth, repo, now):
    client = make_app(HISTORY_LIMIT=3).test_client()
    writes = Writes(client, basic_auth, now)
    writes.push(item(1, 101, "1"), item(2, 102, "2"))  # 1, 2
    writes.put(103, "3")  # 3
    writes.push(item(1, 101, "4"), item(2, 102, "5"))  # 4, 5: 1 and 2 pruned
    assert [row[0] for row in stored_history(repo)] == [3, 4, 5]
    assert cursor_ids(history(client, basic_auth, "?after_id=2"))[0] == [3, 4, 5]  # nothing missed
    for after_id in (0, 1):
        assert_error(history(client, basic_auth, f"?after_id={after_id}"), 410, PRUNED)
    assert_error(history(client, basic_auth, "?forward_number=103&after_id=1"), 410, PRUNED)  # whatever the filter
    # A lowered limit hides the older records at once: the cursor before them is 410 as well.
    lowered = make_app(HISTORY_LIMIT=2).test_client()
    assert cursor_ids(history(lowered, basic_auth, "?after_id=3"))[0] == [4, 5]
    assert_error(history(lowered, basic_auth, "?after_id=2"), 410, PRUNED)
    assert [row[0] for row in stored_history(repo)] == [3, 4, 5]


def test_ids_go_on_after_the_limit_went_to_0_and_back(make_app, basic_auth, repo, now):
    Writes(make_app().test_client(), basic_auth, now).push(item(1, 101, "1"), item(2, 102, "2"))  # 1, 2
    off = make_app(HISTORY_LIMIT=0).test_client()
    Writes(off, basic_auth, now).put(103, "3")  # records nothing, prunes 1 and 2
    assert stored_history(repo) == []
    # Nothing is recorded: 200 without records, whatever the cursor.
    for after_id in (0, 2, 3, INT64_MAX):
        assert answer(history(off, basic_auth, f"?after_id={after_id}")) == expected(200, after([], after_id, after_id))
    on = make_app().test_client()  # a restart with the default limit
    Writes(on, basic_auth, now).put(104, "4")
    assert [(row[0], row[4]) for row in stored_history(repo)] == [(3, 104)]
    assert cursor_ids(history(on, basic_auth, "?after_id=2"))[0] == [3]
    assert_error(history(on, basic_auth, "?after_id=1"), 410, PRUNED)
    Writes(make_app().test_client(), basic_auth, now).put(105, "5")  # and after another restart
    assert [row[0] for row in stored_history(repo)] == [3, 4]


def test_a_restore_of_an_older_backup_moves_the_ids_past_both_and_is_a_barrier(
    client, basic_auth, repo, runner, writes, tmp_path
):
    writes.push(item(1, 101, "1"), item(2, 102, "2"))  # 1, 2
    backup = tmp_path / "backup.db"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    writes.put(103, "3")  # 3
    writes.put(104, "4")  # 4
    outcome = runner.invoke(args=["restore", str(backup)])
    assert outcome.exit_code == 0, outcome.output
    # The backup's records 1 and 2 are 5 and 6 now: no id names two records.
    assert [(row[0], row[4]) for row in stored_history(repo)] == [(5, 101), (6, 102)]
    for after_id in (0, 2, 4, 5):
        assert_error(history(client, basic_auth, f"?after_id={after_id}"), 410, PRUNED)
    assert answer(history(client, basic_auth, "?after_id=6")) == expected(200, after([], 6, 6))
    assert_error(history(client, basic_auth, "?after_id=7"), 410, PRUNED)
    writes.put(105, "5")
    assert cursor_ids(history(client, basic_auth, "?after_id=6"))[0] == [7]
    assert ids(history(client, basic_auth))[0] == [7, 6, 5]
