"""DELETE /api/v1/forward/items (uid_items) and DELETE /api/v1/forward/items/link (link_ids)."""

import json
from collections import namedtuple

import pytest

from tests.helpers import INT64_MAX, WRONG_JSON, answer, expected, no_value, result, stored_rules, wrong_type

Endpoint = namedtuple("Endpoint", "path field result_key ids_of")

# ids_of: the ids this endpoint knows the seeded rules 101, 102, 103 and 104 by.
BY_NUMBER = Endpoint("/api/v1/forward/items", "uid_items", "uid", lambda *numbers: list(numbers))
BY_LINK_ID = Endpoint(
    "/api/v1/forward/items/link", "link_ids", "link_id", lambda *numbers: [number * 10 for number in numbers]
)
BOTH = pytest.mark.parametrize("endpoint", [BY_NUMBER, BY_LINK_ID], ids=lambda endpoint: endpoint.field)


@pytest.fixture
def seeded(repo, app):
    """Rules 101, 102 and 103 from Link (link_id 1010, 1020, 1030); rule 104 without a link_id."""
    repo.rules.apply_link_items([(number * 10, number, [str(number)]) for number in (101, 102, 103)])
    repo.rules.put_rule(104, ["104"])
    return stored_rules(repo)


def delete(client, headers, endpoint, body):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.delete(endpoint.path, data=data, headers=headers)


def results(endpoint, ids, outcomes):
    return result(*zip(ids, outcomes), key=endpoint.result_key)


def without(rules, *numbers):
    return {number: rule for number, rule in rules.items() if number not in numbers}


@BOTH
def test_deletes_in_request_order(client, auth, repo, seeded, endpoint):
    ids = endpoint.ids_of(103, 999, 101)
    response = delete(client, auth, endpoint, {endpoint.field: ids})
    outcomes = ["deleted", "entity_not_found", "deleted"]
    assert answer(response) == expected(200, results(endpoint, ids, outcomes))
    assert stored_rules(repo) == without(seeded, 101, 103)


def test_the_example_of_the_docs(client, auth, repo, seeded):
    repo.rules.put_rule(102, [])  # gone, so that it is not found
    response = delete(client, auth, BY_NUMBER, {"uid_items": [101, 102]})
    body = {
        "result": [
            {"uid": 101, "success": True, "extended_info": "deleted"},
            {"uid": 102, "success": False, "extended_info": "entity_not_found"},
        ]
    }
    assert answer(response) == expected(200, body)
    assert stored_rules(repo) == without(seeded, 101, 102)


@BOTH
def test_an_id_repeated_is_not_found_the_second_time(client, auth, repo, seeded, endpoint):
    ids = endpoint.ids_of(102, 102, 101, 102)
    response = delete(client, auth, endpoint, {endpoint.field: ids})
    outcomes = ["deleted", "entity_not_found", "deleted", "entity_not_found"]
    assert answer(response) == expected(200, results(endpoint, ids, outcomes))
    assert stored_rules(repo) == without(seeded, 101, 102)


@BOTH
def test_an_empty_list_deletes_nothing(client, auth, repo, seeded, endpoint):
    response = delete(client, auth, endpoint, {endpoint.field: [], "other": [101]})
    assert answer(response) == expected(200, {"result": []})
    assert stored_rules(repo) == seeded


def test_uid_items_deletes_a_rule_without_link_id(client, auth, repo, seeded):
    response = delete(client, auth, BY_NUMBER, {"uid_items": [104]})
    assert answer(response) == expected(200, results(BY_NUMBER, [104], ["deleted"]))
    assert stored_rules(repo) == without(seeded, 104)


def test_link_ids_are_not_forward_numbers(client, auth, repo, seeded):
    response = delete(client, auth, BY_LINK_ID, {"link_ids": [101, 104]})
    assert answer(response) == expected(200, results(BY_LINK_ID, [101, 104], ["entity_not_found"] * 2))
    assert stored_rules(repo) == seeded


@BOTH
@pytest.mark.parametrize("id_", [1, INT64_MAX])
def test_the_range_ends_are_ids(client, auth, repo, seeded, endpoint, id_):
    response = delete(client, auth, endpoint, {endpoint.field: [id_]})
    assert answer(response) == expected(200, results(endpoint, [id_], ["entity_not_found"]))
    assert stored_rules(repo) == seeded


def bad_bodies(field):
    """(body, message) pairs; each body that has a list starts with an id that exists, so that a
    400 deleting nothing shows the request is one transaction."""
    bodies = [
        ("", WRONG_JSON),
        ("not json", WRONG_JSON),
        ("[101]", WRONG_JSON),
        (f'{{"{field}": [101]', WRONG_JSON),
        ({}, no_value(field)),
        ({"uid_item": [101], "link_id": [101]}, no_value(field)),
    ]
    bodies += [({field: value}, wrong_type(field)) for value in (None, 101, "101", "[101]", {"101": 101}, True, 1.5)]
    bodies += [
        ({field: [101, 1010, element]}, wrong_type(field))
        for element in ("102", 102.0, 1.5, True, False, None, 0, -1, INT64_MAX + 1, 2**64, [102], {"uid": 102})
    ]
    return bodies


@pytest.mark.parametrize(
    "endpoint, body, message",
    [(endpoint, body, message) for endpoint in (BY_NUMBER, BY_LINK_ID) for body, message in bad_bodies(endpoint.field)],
)
def test_a_bad_body_is_named_and_deletes_nothing(client, auth, repo, seeded, endpoint, body, message):
    response = delete(client, auth, endpoint, body)
    assert answer(response) == expected(400, {"error": message})
    assert stored_rules(repo) == seeded


@BOTH
def test_the_body_is_json_whatever_its_content_type(client, auth, repo, seeded, endpoint):
    ids = endpoint.ids_of(101)
    response = client.delete(
        endpoint.path,
        data=json.dumps({endpoint.field: ids}),
        content_type="application/x-www-form-urlencoded",
        headers=auth,
    )
    assert answer(response) == expected(200, results(endpoint, ids, ["deleted"]))
    assert stored_rules(repo) == without(seeded, 101)


@BOTH
def test_a_failure_part_way_deletes_nothing(client, auth, repo, seeded, endpoint):
    # The database refuses to delete rule 103: the deletes before it in the request must not stay.
    repo.database.connection.execute(
        "CREATE TRIGGER keep_103 BEFORE DELETE ON rules WHEN old.forward_number = 103"
        " BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    response = delete(client, auth, endpoint, {endpoint.field: endpoint.ids_of(101, 102, 103)})
    assert answer(response) == expected(500, {"error": "Internal server error"})
    assert stored_rules(repo) == seeded


@BOTH
@pytest.mark.parametrize("is_json", [True, False], ids=["ids", "not json"])
def test_authentication_comes_before_the_body(client, repo, seeded, endpoint, is_json):
    body = {endpoint.field: endpoint.ids_of(101)} if is_json else "not json"
    response = delete(client, {}, endpoint, body)
    assert answer(response) == expected(401, {"error": "Log In"})
    assert stored_rules(repo) == seeded
