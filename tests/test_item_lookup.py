"""GET /api/v1/forward/item/<forward_number>: one rule, as support looks it up."""

import pytest

from tests.helpers import BAD_FORWARD_UIDS, INT64_MAX, answer, assert_error, expected, item, push, stored_rules


def get(client, headers, number):
    return client.get(f"/api/v1/forward/item/{number}", headers=headers)


@pytest.fixture
def seeded(client, auth, repo):
    """Rule 101 from Link (link_id 7), rule 102 made alone (no link_id), rule INT64_MAX from Link."""
    assert (
        push(client, auth, item(7, 101, "sip:100@sip.bas-ip.com", "vizit:101"), item(8, INT64_MAX, "1")).status_code
        == 200
    )
    assert (
        client.post(
            "/api/v1/forward/item/102", json={"forward_entity_list": ["102", "laskomex:1"]}, headers=auth
        ).status_code
        == 200
    )
    return stored_rules(repo)


def test_a_rule_with_a_link_id_has_it_first(client, auth, seeded):
    assert answer(get(client, auth, 101)) == expected(
        200, {"link_id": 7, "forward_number": 101, "forward_entity_list": ["sip:100@sip.bas-ip.com", "vizit:101"]}
    )


def test_a_rule_without_a_link_id_has_no_such_key(client, auth, seeded):
    assert answer(get(client, auth, 102)) == expected(
        200, {"forward_number": 102, "forward_entity_list": ["102", "laskomex:1"]}
    )


def test_the_largest_number(client, basic_auth, seeded):
    response = get(client, basic_auth, INT64_MAX)
    assert answer(response) == expected(200, {"link_id": 8, "forward_number": INT64_MAX, "forward_entity_list": ["1"]})


def test_it_shows_the_rule_as_it_is_now(client, auth, repo, seeded):
    push(client, auth, item(9, 101, "vizit:9"))
    assert answer(get(client, auth, 101)) == expected(
        200, {"link_id": 9, "forward_number": 101, "forward_entity_list": ["vizit:9"]}
    )
    client.post("/api/v1/forward/item/101", json={"forward_entity_list": []}, headers=auth)
    assert_error(get(client, auth, 101), 404, "Not found")
    assert 101 not in stored_rules(repo)


@pytest.mark.parametrize("number", [1, 103, INT64_MAX - 1])
def test_no_such_rule_is_not_found(client, auth, repo, seeded, number):
    assert_error(get(client, auth, number), 404, "Not found")
    assert stored_rules(repo) == seeded


@pytest.mark.parametrize("path", BAD_FORWARD_UIDS)
def test_a_bad_path_is_named_forward_uid(client, auth, repo, seeded, path):
    response = get(client, auth, path)
    assert answer(response) == expected(400, {"error": "Wrong JSON body: value `forward-uid` was of the wrong type"})
    assert stored_rules(repo) == seeded


@pytest.mark.parametrize("path", ["101", "abc"])
def test_authentication_comes_first(client, seeded, path):
    assert_error(get(client, {}, path), 401, "Log In")


def test_the_path_now_allows_get(client, auth):
    response = client.put("/api/v1/forward/item/101", headers=auth, data="{}")
    assert_error(response, 405, "Method not allowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
