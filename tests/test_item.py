"""POST /api/v1/forward/item/<forward_number>: create, replace or remove one rule."""

import pytest

from tests.helpers import BAD_FORWARD_UIDS, INT64_MAX, WRONG_JSON, answer, expected, no_value, stored_rules, wrong_type


def post(client, headers, number, body=None, data=None):
    return client.post(f"/api/v1/forward/item/{number}", json=body, data=data, headers=headers)


@pytest.fixture
def seeded(repo):
    """Rule 101 from Link (link_id 7) and rule 102 made here, without a link_id."""
    repo.rules.apply_link_items([(7, 101, ["sip:100@sip.bas-ip.com", "vizit:101"])])
    repo.rules.put_rule(102, ["102"])
    return stored_rules(repo)


def test_creates_a_rule_with_its_entries_in_order(client, auth, repo):
    entries = ["sip:100@sip.bas-ip.com", "1001", "laskomex:10", "vizit:10", "sip:192.168.1.2"]
    response = post(client, auth, 223, {"forward_entity_list": entries})
    assert answer(response) == expected(200, {})
    assert stored_rules(repo) == {223: (None, entries)}


def test_replaces_a_linked_rule_and_keeps_its_link_id(client, auth, repo, seeded):
    response = post(client, auth, 101, {"forward_entity_list": ["1001", "vizit:5"]})
    assert answer(response) == expected(200, {})
    assert stored_rules(repo) == {**seeded, 101: (7, ["1001", "vizit:5"])}


def test_replaces_a_rule_without_link_id(client, auth, repo, seeded):
    response = post(client, auth, 102, {"forward_entity_list": ["laskomex:3"]})
    assert answer(response) == expected(200, {})
    assert stored_rules(repo) == {**seeded, 102: (None, ["laskomex:3"])}


def test_a_link_id_in_the_body_is_ignored(client, auth, repo, seeded):
    response = post(client, auth, 101, {"link_id": 99, "forward_entity_list": ["5"], "extra": [1]})
    assert answer(response) == expected(200, {})
    assert stored_rules(repo) == {**seeded, 101: (7, ["5"])}


@pytest.mark.parametrize("number", [101, 102])
def test_an_empty_list_removes_the_rule(client, auth, repo, seeded, number):
    response = post(client, auth, number, {"forward_entity_list": []})
    assert answer(response) == expected(200, {})
    assert stored_rules(repo) == {key: rule for key, rule in seeded.items() if key != number}


def test_an_empty_list_for_no_rule_changes_nothing(client, auth, repo, seeded):
    response = post(client, auth, 103, {"forward_entity_list": []})
    assert answer(response) == expected(200, {})
    assert stored_rules(repo) == seeded


@pytest.mark.parametrize("number", [1, INT64_MAX])
def test_the_range_ends_are_accepted(client, auth, repo, number):
    response = post(client, auth, number, {"forward_entity_list": ["1"]})
    assert answer(response) == expected(200, {})
    assert stored_rules(repo) == {number: (None, ["1"])}


def test_the_body_is_json_whatever_its_content_type(client, auth, repo):
    response = client.post(
        "/api/v1/forward/item/5",
        data='{"forward_entity_list": ["1"]}',
        content_type="application/x-www-form-urlencoded",
        headers=auth,
    )
    assert answer(response) == expected(200, {})
    assert stored_rules(repo) == {5: (None, ["1"])}


# Each also has a body that is not JSON: the path is checked first.
@pytest.mark.parametrize("path", BAD_FORWARD_UIDS)
def test_a_bad_path_is_named_forward_uid_before_the_body(client, auth, repo, seeded, path):
    response = post(client, auth, path, data="not json")
    assert answer(response) == expected(400, {"error": wrong_type("forward-uid")})
    assert stored_rules(repo) == seeded


NO_VALUE = no_value("forward_entity_list")
WRONG_TYPE = wrong_type("forward_entity_list")


@pytest.mark.parametrize(
    "data, message",
    [
        ("", WRONG_JSON),
        ("not json", WRONG_JSON),
        ('["1"]', WRONG_JSON),
        ("null", WRONG_JSON),
        ('{"forward_entity_list": ["1"]', WRONG_JSON),
        ("{}", NO_VALUE),
        ('{"forward_entity": ["1"]}', NO_VALUE),
        ('{"forward_entity_list": null}', WRONG_TYPE),
        ('{"forward_entity_list": "101"}', WRONG_TYPE),
        ('{"forward_entity_list": {"0": "101"}}', WRONG_TYPE),
        ('{"forward_entity_list": [101]}', WRONG_TYPE),
        ('{"forward_entity_list": ["101", null]}', WRONG_TYPE),
        ('{"forward_entity_list": ["abc"]}', WRONG_TYPE),
        ('{"forward_entity_list": ["101\\n"]}', WRONG_TYPE),
        ('{"forward_entity_list": ["\u0661\u0660\u0661"]}', WRONG_TYPE),
        ('{"forward_entity_list": ["1", "2", "3", "4", "5", "6", "7", "8", "9"]}', WRONG_TYPE),
    ],
)
@pytest.mark.parametrize("number", [101, 103])
def test_a_bad_body_changes_nothing(client, auth, repo, seeded, number, data, message):
    response = post(client, auth, number, data=data.encode())
    assert answer(response) == expected(400, {"error": message})
    assert stored_rules(repo) == seeded


def test_eight_entries_are_the_limit(client, auth, repo):
    entries = [str(n) for n in range(1, 9)]
    assert answer(post(client, auth, 5, {"forward_entity_list": entries})) == expected(200, {})
    assert stored_rules(repo) == {5: (None, entries)}


@pytest.mark.parametrize("path", ["101", "abc"])
def test_authentication_comes_before_the_path_and_body(client, repo, seeded, path):
    response = post(client, {}, path, {"forward_entity_list": []})
    assert answer(response) == expected(401, {"error": "Log In"})
    assert stored_rules(repo) == seeded
