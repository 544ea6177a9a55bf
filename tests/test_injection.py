"""SQL injection: values shaped to break out of a query, through every field and parameter.

repository.py binds every value as a parameter (no SQL is built from input), so these are only
wrong values or plain data; the tests check the answers and that every table is as it was.
"""

import json
import urllib.parse

import pytest

from forwarding.messages import WRONG_LOGIN, wrong_type
from helpers import basic, stored_rules

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
]
LINK_ITEMS = "/api/v1/forward/items/link"

pytestmark = pytest.mark.usefixtures("quick_password_hash")


@pytest.fixture
def database(client, auth, repo):
    """Two rules stored; returns a check that the schema, the rules and the account are intact."""
    body = {"list_items": [{"link_id": n, "forward_number": n, "forward_entity_list": ["101"]} for n in (1, 2)]}
    assert client.post(LINK_ITEMS, json=body, headers=auth).status_code == 200

    def snapshot():
        schema = repo.db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        account = repo.db.execute("SELECT * FROM account").fetchall()
        return schema, account, stored_rules(repo)

    before = snapshot()
    return lambda: snapshot() == before


def answer(response):
    return response.status_code, response.get_json()


def item(**fields):
    return {"link_id": 1, "forward_number": 1, "forward_entity_list": ["101"], **fields}


@pytest.mark.parametrize("field", ["link_id", "forward_number"])
def test_integer_fields(client, auth, database, field):
    for value in INJECTIONS:
        response = client.post(LINK_ITEMS, json={"list_items": [item(**{field: value})]}, headers=auth)
        assert answer(response) == (400, {"error": wrong_type(field)}), value
    assert database()


def test_entries_and_lists(client, auth, database):
    for value in INJECTIONS:
        response = client.post(LINK_ITEMS, json={"list_items": [item(forward_entity_list=[value])]}, headers=auth)
        assert answer(response) == (400, {"error": wrong_type("forward_entity_list")}), value
        assert answer(client.post(LINK_ITEMS, json={"list_items": value}, headers=auth)) == (
            400, {"error": wrong_type("list_items")}), value
        assert answer(client.post("/api/v1/forward/item/1", json={"forward_entity_list": [value]}, headers=auth)) == (
            400, {"error": wrong_type("forward_entity_list")}), value
    assert database()


@pytest.mark.parametrize("path, field", [("/api/v1/forward/items", "uid_items"), (LINK_ITEMS, "link_ids")])
def test_delete_lists(client, auth, database, path, field):
    for value in INJECTIONS:
        for ids in ([value], [1, value], value):
            response = client.delete(path, json={field: ids}, headers=auth)
            assert answer(response) == (400, {"error": wrong_type(field)}), ids
    assert database()


def test_keys_are_ignored(client, auth, database):
    body = {value: value for value in INJECTIONS} | {"list_items": [item() | {value: 1 for value in INJECTIONS}]}
    response = client.post(LINK_ITEMS, data=json.dumps(body), headers=auth)
    assert response.get_json() == {"result": [{"link_id": 1, "success": True, "extended_info": "updated"}]}
    assert database()


def test_entries_the_patterns_let_through_are_kept_as_data(client, auth, repo):
    entries = ["sip:--@a.b", "sip:1_OR_1@x.y", "sip:a@DROP.TABLE_rules"]
    assert client.post("/api/v1/forward/item/5", json={"forward_entity_list": entries}, headers=auth).status_code == 200
    assert stored_rules(repo) == {5: (None, entries)}
    assert client.get("/api/v1/forward/items", headers=auth).get_json()["list_items"] == [
        {"forward_number": 5, "forward_entity_list": entries}
    ]


@pytest.mark.parametrize("path, parameter", [
    ("/api/v1/forward/items", "limit"),
    ("/api/v1/forward/items", "page_number"),
    ("/api/v1/forward/items", "sort_field"),
    ("/api/v1/forward/items", "sort_type"),
    (LINK_ITEMS, "link_id"),
])
def test_query_parameters(client, auth, database, path, parameter):
    for value in INJECTIONS:
        response = client.get(path, query_string={parameter: value}, headers=auth)
        assert answer(response) == (400, {"error": wrong_type(parameter)}), value
    assert database()


def test_the_path(client, auth, database):
    for value in INJECTIONS:
        path = "/api/v1/forward/item/" + urllib.parse.quote(value, safe="")
        response = client.post(path, json={"forward_entity_list": []}, headers=auth)
        # A `/`, even as %2F, ends the path segment: no such path then.
        expected = (404, {"error": "Not found"}) if "/" in value else (400, {"error": wrong_type("forward-uid")})
        assert answer(response) == expected, value
    assert database()


def test_credentials(client, database):
    for value in INJECTIONS + ["admin' --", "admin'/*", "admin\" --"]:
        for username, password in ((value, "e10adc3949ba59abbe56e057f20f883e"), ("admin", value)):
            response = client.get("/api/v1/login", query_string={"username": username, "password": password})
            assert answer(response) == (400, {"error": WRONG_LOGIN}), (username, password)
        for headers in (basic(value, "123456"), basic("admin", value), {"Authorization": f"Bearer {value}"}):
            assert answer(client.get("/api/v1/forward/items", headers=headers)) == (401, {"error": "Log In"}), headers
    assert database()
