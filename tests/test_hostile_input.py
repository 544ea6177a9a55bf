"""Pathological input: each gets a clear 400 (or, where the contract says the thing is ignored,
the answer it would get without it), promptly, and changes nothing."""

import json

import pytest

from forwarding import messages
from forwarding.messages import WRONG_JSON, no_value, wrong_type
from forwarding.patterns import MAX_LENGTH
from helpers import stored_rules

LINK_ITEMS = "/api/v1/forward/items/link"
MILLION = 10**6


def item(link_id=1, number=101, entities=("101",)):
    return {"link_id": link_id, "forward_number": number, "forward_entity_list": list(entities)}


@pytest.fixture
def seeded(client, auth, repo):
    """One rule stored; returns a function that sends raw bytes and checks nothing changed."""
    assert client.post(LINK_ITEMS, json={"list_items": [item(7, 7)]}, headers=auth).status_code == 200
    before = stored_rules(repo)

    def refused(raw, method="POST", path=LINK_ITEMS, **kwargs):
        response = client.open(path, method=method, data=raw, headers=auth, **kwargs)
        assert stored_rules(repo) == before
        return response.status_code, response.get_json()

    return refused


def error(message):
    return 400, {"error": message}


@pytest.mark.parametrize("raw", [
    "[" * 100_000 + "]" * 100_000,
    '{"list_items": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"list_items": [' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "]}",
])
def test_nesting_deeper_than_the_parser_goes_is_not_json(seeded, raw):
    assert seeded(raw) == error(WRONG_JSON)


def test_nesting_the_parser_can_read_is_checked_as_any_value(seeded):
    deep = "[" * 500 + "]" * 500
    assert seeded('{"list_items": ' + deep + "}") == error(wrong_type("list_items"))
    assert seeded('{"list_items": [' + json.dumps(item())[:-1] + ', "x": ' + deep + "}, " + deep + "]}") == error(
        wrong_type("list_items")
    )


def test_strings_of_a_million_characters(seeded, client, auth):
    near_sip = "sip:a@" + "a." * (MILLION // 2) + "a"  # slow for the SIP pattern: refused on its length first
    assert seeded(json.dumps({"list_items": [item(entities=[near_sip])]})) == error(wrong_type("forward_entity_list"))
    assert seeded(json.dumps({"list_items": [item(link_id="1" * MILLION)]})) == error(wrong_type("link_id"))
    assert seeded(json.dumps({"forward_entity_list": ["1" * MILLION]}), path="/api/v1/forward/item/101") == error(
        wrong_type("forward_entity_list")
    )
    # An unknown key is ignored, however long.
    response = client.post(LINK_ITEMS, data=json.dumps({"x" * MILLION: "y" * MILLION, "list_items": []}), headers=auth)
    assert (response.status_code, response.get_json()) == (200, {"result": []})


def test_entries_up_to_the_length_bound_are_kept(client, auth, repo):
    longest = "sip:" + "u" * (MAX_LENGTH - 20) + "@sip.bas-ip.com"
    assert len(longest) == MAX_LENGTH - 1
    body = {"list_items": [item(entities=[longest, "1" * MAX_LENGTH])]}
    assert client.post(LINK_ITEMS, json=body, headers=auth).status_code == 200
    assert stored_rules(repo) == {101: (1, [longest, "1" * MAX_LENGTH])}


def test_a_million_characters_in_a_query_a_path_or_a_login(seeded, client, auth):
    assert seeded(None, method="GET", path="/api/v1/forward/items", query_string={"limit": "1" * MILLION}) == error(
        wrong_type("limit")
    )
    assert seeded("{}", path="/api/v1/forward/item/" + "1" * MILLION) == error(wrong_type("forward-uid"))
    response = client.get("/api/v1/login", query_string={"username": "a" * MILLION, "password": "b" * MILLION})
    assert (response.status_code, response.get_json()) == error(messages.WRONG_LOGIN)


@pytest.mark.parametrize("number", ["10" + "0" * 5000, "-1" + "0" * 5000, "9" * MILLION, "1e5000", "-1e5000"])
def test_huge_numbers_are_out_of_range(seeded, number):
    # Decided here: a number too big for any field is that field's wrong-type error, as any
    # number out of range is, however many digits it has (Python's int() refuses over 4300).
    body = '{"list_items": [{"link_id": 1, "forward_number": %s, "forward_entity_list": ["1"]}]}' % number
    assert seeded(body) == error(wrong_type("forward_number"))
    assert seeded('{"uid_items": [1, %s]}' % number, method="DELETE", path="/api/v1/forward/items") == error(
        wrong_type("uid_items")
    )


def test_a_huge_number_under_an_unknown_key_is_ignored(client, auth, repo):
    body = '{"x": 1%s, "list_items": [%s]}' % ("0" * 5000, json.dumps(item(1, 5, ["1"])))
    assert client.post(LINK_ITEMS, data=body, headers=auth).status_code == 200
    assert stored_rules(repo) == {5: (1, ["1"])}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("where", ['{"list_items": [{"link_id": %s}]}', '{"unknown": %s, "list_items": []}'])
def test_nan_and_infinity_are_not_json(seeded, constant, where):
    # Python's json reads them; JSON has no such values, so the body is not JSON, wherever they are.
    assert seeded(where % constant) == error(WRONG_JSON)


def test_duplicate_keys_the_last_one_wins(client, auth, repo):
    # Decided here: as JSON.parse, Python's json, Go and Android's org.json read it. Refusing would
    # cost an object_pairs_hook call for every object of every bulk push, for a case no client makes.
    body = '{"list_items": "not a list", "list_items": [{"link_id": "x", "forward_number": 101,' \
           ' "forward_entity_list": ["1"], "link_id": 5}]}'
    response = client.post(LINK_ITEMS, data=body, headers=auth)
    assert response.get_json() == {"result": [{"link_id": 5, "success": True, "extended_info": "created"}]}
    assert stored_rules(repo) == {101: (5, ["1"])}


def test_duplicate_keys_the_last_one_is_checked(seeded):
    body = '{"list_items": [{"link_id": 5, "forward_number": 101, "forward_entity_list": ["1"], "link_id": "x"}]}'
    assert seeded(body) == error(wrong_type("link_id"))


@pytest.mark.parametrize("raw", [
    b'{"list_items": [{"link_id": 1, "forward_number": 1, "forward_entity_list": ["\xff"]}]}',  # not UTF-8
    b'{"list_items": [], "x": "\xc0\xaf"}',  # an overlong encoding of "/"
    b'{"list_items": [], "x": "\xed\xa0\x80"}',  # a surrogate, encoded
    b'{"list_items": [], "x": "\xe2\x82"}',  # cut short
    b'\xef\xbb\xbf{"list_items": []}',  # a byte-order mark
    '{"list_items": []}'.encode("utf-16"),
    '{"list_items": []}'.encode("utf-32"),
])
def test_bytes_that_are_not_utf8_json(seeded, raw):
    assert seeded(raw) == error(WRONG_JSON)


def test_an_escaped_lone_surrogate_in_an_entry_is_the_lists_wrong_type(seeded):
    body = '{"list_items": [{"link_id": 1, "forward_number": 1, "forward_entity_list": ["10\\ud800"]}]}'
    assert seeded(body) == error(wrong_type("forward_entity_list"))
    assert seeded('{"forward_entity_list": ["\\udfff"]}', path="/api/v1/forward/item/1") == error(
        wrong_type("forward_entity_list")
    )


def test_an_escaped_lone_surrogate_as_a_key_is_an_unknown_key(seeded, client, auth, repo):
    # Decided here: `\ud800` is a valid JSON escape (RFC 8259 allows it, if not advises it), and
    # such a key is one the service does not know: ignored, as every unknown key is.
    assert seeded('{"\\ud800": []}') == error(no_value("list_items"))
    assert seeded('{"list_items": [{"link_id": 1, "\\ud800forward_number": 1}]}') == error(no_value("forward_number"))
    response = client.post(LINK_ITEMS, data='{"\\udc00": 1, "list_items": []}', headers=auth)
    assert (response.status_code, response.get_json()) == (200, {"result": []})
