"""Pathological input: each gets a clear 400 (or, where the API ignores the thing, the
answer it would get without it), promptly, and changes nothing. (NaN, Infinity, bytes not UTF-8,
100000-deep nesting and 5000-digit integers in the fields and under unknown keys:
test_validation.py.)"""

import json

import pytest

from tests.helpers import (
    LINK_ITEMS,
    MAX_LENGTH,
    WRONG_JSON,
    assert_error,
    assert_json,
    item,
    log_in,
    no_value,
    push,
    result,
    stored_rules,
    wrong_type,
)

MILLION = 10**6


@pytest.fixture
def refused(client, auth, repo):
    """`refused(message, raw, ...)`: the raw body answered 400 `message`, and nothing changed."""
    assert push(client, auth, item(7, 7, "101")).status_code == 200
    before = stored_rules(repo)

    def check(message, raw, method="POST", path=LINK_ITEMS, **kwargs):
        assert_error(client.open(path, method=method, data=raw, headers=auth, **kwargs), 400, message)
        assert stored_rules(repo) == before

    return check


def body(*items):
    return json.dumps({"list_items": list(items)})


def test_nesting_deeper_than_the_parser_goes_inside_an_element(refused):
    refused(WRONG_JSON, '{"list_items": [' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "]}")


def test_nesting_the_parser_can_read_is_checked_as_any_value(refused):
    deep = "[" * 500 + "]" * 500
    refused(wrong_type("list_items"), '{"list_items": ' + deep + "}")
    refused(wrong_type("link_id"), f'{{"list_items": [{{"link_id": {deep}}}]}}')


def test_strings_of_a_million_characters(refused, client, auth):
    near_sip = "sip:a@" + "a." * (MILLION // 2) + "a"  # slow for the SIP pattern: refused on its length first
    refused(wrong_type("forward_entity_list"), body(item(1, 1, near_sip)))
    refused(
        wrong_type("forward_entity_list"),
        json.dumps({"forward_entity_list": ["1" * MILLION]}),
        path="/api/v1/forward/item/101",
    )
    refused(wrong_type("link_id"), body(item("1" * MILLION, 1, "101")))
    # An unknown key is ignored, however long.
    response = client.post(LINK_ITEMS, data=json.dumps({"x" * MILLION: "y" * MILLION, "list_items": []}), headers=auth)
    assert_json(response, 200, {"result": []})


def test_entries_up_to_the_length_bound_are_kept(client, auth, repo):
    longest_sip = "sip:" + "u" * (MAX_LENGTH - 19) + "@sip.bas-ip.com"
    assert len(longest_sip) == MAX_LENGTH
    assert_json(push(client, auth, item(1, 101, longest_sip, "1" * MAX_LENGTH)), 200, result((1, "created")))
    assert stored_rules(repo) == {101: (1, [longest_sip, "1" * MAX_LENGTH])}


@pytest.mark.parametrize("entry", ["1" * (MAX_LENGTH + 1), "sip:" + "u" * (MAX_LENGTH - 18) + "@sip.bas-ip.com"])
def test_an_entry_over_the_length_bound_is_the_lists_wrong_type(refused, entry):
    refused(wrong_type("forward_entity_list"), body(item(1, 101, entry)))


def test_a_million_characters_in_a_query_a_path_or_a_login(refused, client):
    refused(
        wrong_type("limit"), None, method="GET", path="/api/v1/forward/items", query_string={"limit": "1" * MILLION}
    )
    refused(wrong_type("forward-uid"), "{}", path="/api/v1/forward/item/" + "1" * MILLION)
    response = log_in(client, "a" * MILLION, "b" * MILLION)
    assert_error(response, 400, "Wrong login or password")


@pytest.mark.parametrize("number", ["9" * MILLION, "1e5000", "-1e5000"])
def test_huge_numbers_are_out_of_range(refused, number):
    element = f'{{"link_id": 1, "forward_number": {number}, "forward_entity_list": ["1"]}}'
    refused(wrong_type("forward_number"), f'{{"list_items": [{element}]}}')
    refused(wrong_type("uid_items"), f'{{"uid_items": [1, {number}]}}', method="DELETE", path="/api/v1/forward/items")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"list_items": [], "x": -Infinity}',
        b'{"list_items": [], "x": "\xc0\xaf"}',  # an overlong encoding of "/"
        b'{"list_items": [], "x": "\xed\xa0\x80"}',  # a surrogate, encoded
        b'{"list_items": [], "x": "\xe2\x82"}',  # cut short
        b'\xef\xbb\xbf{"list_items": []}',  # a byte-order mark
        '{"list_items": []}'.encode("utf-16"),
        '{"list_items": []}'.encode("utf-32"),
    ],
)
def test_bodies_that_are_not_utf8_json(refused, raw):
    refused(WRONG_JSON, raw)


def test_duplicate_keys_the_last_one_wins(client, auth, repo):
    # Decided here: as JSON.parse, Python, Go and Android's org.json read it. Refusing would cost
    # an object_pairs_hook call for every object of every bulk push, for a case no client makes.
    text = (
        '{"list_items": "no list", "list_items": [{"link_id": "x", "forward_number": 101,'
        ' "forward_entity_list": ["1"], "link_id": 5}]}'
    )
    assert_json(client.post(LINK_ITEMS, data=text, headers=auth), 200, result((5, "created")))
    assert stored_rules(repo) == {101: (5, ["1"])}


def test_duplicate_keys_the_last_one_is_checked(refused):
    text = '{"list_items": [{"link_id": 5, "forward_number": 101, "forward_entity_list": ["1"], "link_id": "x"}]}'
    refused(wrong_type("link_id"), text)


def test_an_escaped_lone_surrogate_in_an_entry_is_the_lists_wrong_type(refused):
    refused(wrong_type("forward_entity_list"), body(item(1, 1, "10\ud800")))  # json.dumps writes `\ud800`
    refused(wrong_type("forward_entity_list"), '{"forward_entity_list": ["\\udfff"]}', path="/api/v1/forward/item/1")


def test_an_escaped_lone_surrogate_as_a_key_is_an_unknown_key(refused, client, auth):
    # Decided here: `\ud800` is a JSON escape (RFC 8259 allows it, if not advises it), and such a
    # key is one the service does not know: ignored, as every unknown key is.
    refused(no_value("list_items"), '{"\\ud800": []}')
    refused(no_value("forward_number"), '{"list_items": [{"link_id": 1, "\\ud800forward_number": 1}]}')
    assert_json(client.post(LINK_ITEMS, data='{"\\udc00": 1, "list_items": []}', headers=auth), 200, {"result": []})
