"""SQL injection: values shaped to break out of a query, through every field and parameter.

storage/ binds every value as a parameter (no SQL is built from input), so these are only
wrong values or plain data; the tests check the answers and that every table is as it was.
"""

import json
import urllib.parse

import pytest

from tests.helpers import (
    ITEMS,
    LINK_ITEMS,
    assert_error,
    assert_json,
    basic,
    bearer,
    item,
    log_in,
    push,
    result,
    stored_rules,
    wrong_type,
)

INJECTIONS = [
    "1; DROP TABLE rules",
    "1' OR '1'='1",
    "1 OR 1=1",
    "'; DELETE FROM rules; --",
    '" OR ""="',
    "1) UNION SELECT username, password_hash, 1 FROM account --",
    "forward_number; DROP TABLE rules",
    "forward_number DESC",
    "asc; UPDATE account SET username = 'x'",
    "1/*",
    "%",
    "_",
    "\\",
    "\x00",
    "admin' --",
    "admin'/*",
]


@pytest.fixture(params=INJECTIONS)
def value(request):
    return request.param


@pytest.fixture
def database(client, auth, repo):
    """Two rules stored; returns a check that the schema, the rules and the account are intact."""
    assert push(client, auth, item(1, 1, "101"), item(2, 2, "101")).status_code == 200

    def snapshot():
        schema = repo.database.connection.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        account = repo.database.connection.execute("SELECT * FROM account").fetchall()
        return schema, account, stored_rules(repo)

    before = snapshot()
    return lambda: snapshot() == before


@pytest.mark.parametrize("field", ["link_id", "forward_number"])
def test_integer_fields(client, auth, database, value, field):
    assert_error(push(client, auth, item(1, 1, "101") | {field: value}), 400, wrong_type(field))
    assert database()


def test_entries_and_lists(client, auth, database, value):
    assert_error(push(client, auth, item(1, 1, value)), 400, wrong_type("forward_entity_list"))
    assert_error(client.post(LINK_ITEMS, json={"list_items": value}, headers=auth), 400, wrong_type("list_items"))
    response = client.post("/api/v1/forward/item/1", json={"forward_entity_list": [value]}, headers=auth)
    assert_error(response, 400, wrong_type("forward_entity_list"))
    assert database()


ID_LISTS = {"alone": lambda value: [value], "after an id": lambda value: [1, value], "as the list": lambda value: value}


@pytest.mark.parametrize("path, field", [(ITEMS, "uid_items"), (LINK_ITEMS, "link_ids")])
@pytest.mark.parametrize("ids", ID_LISTS)
def test_delete_lists(client, auth, database, value, path, field, ids):
    assert_error(client.delete(path, json={field: ID_LISTS[ids](value)}, headers=auth), 400, wrong_type(field))
    assert database()


def test_keys_are_ignored(client, auth, database):
    body = {value: value for value in INJECTIONS} | {"list_items": [item(1, 1, "101") | dict.fromkeys(INJECTIONS, 1)]}
    assert_json(client.post(LINK_ITEMS, data=json.dumps(body), headers=auth), 200, result((1, "updated")))
    assert database()


def test_entries_the_patterns_let_through_are_kept_as_data(client, auth, repo):
    entries = ["sip:--@a.b", "sip:1_OR_1@x.y", "sip:a@DROP.TABLE_rules"]
    assert client.post("/api/v1/forward/item/5", json={"forward_entity_list": entries}, headers=auth).status_code == 200
    assert stored_rules(repo) == {5: (None, entries)}
    assert client.get(ITEMS, headers=auth).get_json()["list_items"] == [
        {"forward_number": 5, "forward_entity_list": entries}
    ]


@pytest.mark.parametrize(
    "path, parameter",
    [
        (ITEMS, "limit"),
        (ITEMS, "page_number"),
        (ITEMS, "sort_field"),
        (ITEMS, "sort_type"),
        (LINK_ITEMS, "link_id"),
    ],
)
def test_query_parameters(client, auth, database, value, path, parameter):
    assert_error(client.get(path, query_string={parameter: value}, headers=auth), 400, wrong_type(parameter))
    assert database()


def test_the_path(client, auth, database, value):
    path = "/api/v1/forward/item/" + urllib.parse.quote(value, safe="")
    response = client.post(path, json={"forward_entity_list": []}, headers=auth)
    if "/" in value:  # even as %2F, it ends the path segment: no such path then
        assert_error(response, 404, "Not found")
    else:
        assert_error(response, 400, wrong_type("forward-uid"))
    assert database()


@pytest.mark.parametrize("field", ["username", "password"])
def test_login(client, database, value, field):
    assert_error(log_in(client, **{field: value}), 400, "Wrong login or password")
    assert database()


CREDENTIALS = {
    "basic username": lambda value: basic(value, "123456"),
    "basic password": lambda value: basic("admin", value),
    "token": bearer,
}


@pytest.mark.parametrize("credentials", CREDENTIALS)
def test_credentials(client, database, value, credentials):
    assert_error(client.get(ITEMS, headers=CREDENTIALS[credentials](value)), 401, "Log In")
    assert database()
