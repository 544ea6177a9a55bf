"""What the bulk link endpoint accepts (docs/api.md): the body, each field's type rules, and which
error wins. A request answered 400 changes nothing."""

import json

import pytest

from tests.helpers import (
    INT64_MAX,
    LINK_ITEMS,
    WRONG_JSON,
    assert_error,
    assert_json,
    item,
    no_value,
    push,
    result,
    stored_rules,
    wrong_type,
)


def post_text(client, headers, text, **kwargs):
    return client.post(LINK_ITEMS, data=text, headers=headers, **kwargs)


# -- the body ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b" \n",
        b"not json",
        b"{",
        b"{'list_items': []}",
        b'{"list_items": []} trailing',
        b'{"list_items": [],}',
        b"[]",
        b'[{"list_items": []}]',
        b'"list_items"',
        b"5",
        b"null",
        b"true",
        b'{"list_items": [{"link_id": NaN, "forward_number": 1, "forward_entity_list": ["1"]}]}',
        b'{"list_items": [], "x": Infinity}',
        b'{"list_items": [], "x": "\xff"}',  # not UTF-8
        pytest.param(b"[" * 100000, id="100000 deep"),  # deeper than any parser should follow
        pytest.param(b'{"list_items": [], "x": ' + b"[" * 100000 + b"]" * 100000 + b"}", id="100000 deep inside"),
    ],
)
def test_a_body_that_is_not_a_json_object(client, auth, repo, body):
    assert_error(post_text(client, auth, body, content_type="application/json"), 400, WRONG_JSON)
    assert stored_rules(repo) == {}


def test_no_body_at_all(client, auth):
    assert_error(client.post(LINK_ITEMS, headers=auth), 400, WRONG_JSON)


@pytest.mark.parametrize(
    "content_type",
    [None, "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", "application/xml"],
)
def test_the_body_is_json_whatever_the_content_type(client, auth, repo, content_type):
    # curl's -d sends application/x-www-form-urlencoded.
    body = json.dumps({"list_items": [item(1, 101, "101")]})
    response = post_text(client, auth, body, content_type=content_type)
    assert_json(response, 200, result((1, "created")))
    assert stored_rules(repo) == {101: (1, ["101"])}


def test_a_large_push_with_a_form_content_type(client, auth, repo):
    """Larger than Flask's limit for form data (500 kB): the body is never parsed as a form."""
    items = [item(number, number, "sip:100@sip.bas-ip.com", "vizit:1") for number in range(1, 10001)]
    body = json.dumps({"list_items": items})
    assert len(body) > 600_000
    response = post_text(client, auth, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert len(stored_rules(repo)) == 10000


def test_unknown_keys_are_ignored(client, auth, repo):
    body = {"list_items": [dict(item(1, 101, "101"), name="flat 101")], "building": 7}
    assert_json(client.post(LINK_ITEMS, json=body, headers=auth), 200, result((1, "created")))
    assert stored_rules(repo) == {101: (1, ["101"])}


def test_an_unknown_key_may_hold_any_json(client, auth):
    body = '{"list_items": [], "x": [1e400, -0.0, %s, {"y": null}]}' % ("9" * 5000)
    assert_json(post_text(client, auth, body), 200, {"result": []})


def test_an_empty_list_changes_nothing(client, auth):
    assert_json(client.post(LINK_ITEMS, json={"list_items": []}, headers=auth), 200, {"result": []})


# -- list_items --------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["{}", '{"LIST_ITEMS": []}', '{"list_item": []}', '{"uid_items": [1]}'])
def test_list_items_missing(client, auth, body):
    assert_error(post_text(client, auth, body), 400, no_value("list_items"))


@pytest.mark.parametrize("value", ["null", "{}", '"[]"', "5", "true", "[5]", '["x"]', "[null]", "[[]]", "[true]"])
def test_list_items_of_the_wrong_type(client, auth, value):
    # An element that is not an object is a wrong-type error of the list itself.
    assert_error(post_text(client, auth, f'{{"list_items": {value}}}'), 400, wrong_type("list_items"))


# -- link_id and forward_number ---------------------------------------------------------------

WRONG_INTEGERS = [
    '"101"',
    '""',
    '"1e2"',
    "101.0",
    "1.5",
    "1e2",
    "1E2",
    "-0.0",
    "true",
    "false",
    "null",
    "0",
    "-0",
    "-1",
    str(-INT64_MAX - 1),
    str(INT64_MAX + 1),
    str(2**64),
    "1" + "0" * 30,
    "[101]",
    '{"v": 101}',
    # More digits than Python converts by default: still JSON, and out of range.
    pytest.param("9" * 5000, id="5000 digits"),
    pytest.param("-" + "9" * 5000, id="-5000 digits"),
]


def element_text(link_id="1", forward_number="101", forward_entity_list='["101"]'):
    """The JSON text of a body with one element whose field values are given as JSON text."""
    element = f'"link_id": {link_id}, "forward_number": {forward_number}, "forward_entity_list": {forward_entity_list}'
    return f'{{"list_items": [{{{element}}}]}}'


@pytest.mark.parametrize("field", ["link_id", "forward_number"])
@pytest.mark.parametrize("value", WRONG_INTEGERS)
def test_integer_fields_are_strict(client, auth, repo, field, value):
    assert_error(post_text(client, auth, element_text(**{field: value})), 400, wrong_type(field))
    assert stored_rules(repo) == {}


@pytest.mark.parametrize("value", [1, 2, 223, INT64_MAX])
def test_integer_fields_take_1_to_int64_max(client, auth, repo, value):
    assert_json(push(client, auth, item(value, value, "101")), 200, result((value, "created")))
    assert stored_rules(repo) == {value: (value, ["101"])}


# -- forward_entity_list ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        '"101"',
        '""',
        "null",
        "101",
        "true",
        "{}",
        '{"0": "101"}',
        "[101]",
        '["101", 101]',
        "[null]",
        '[["101"]]',
        "[true]",
        '[{"n": "101"}]',
        json.dumps([str(n) for n in range(1, 10)]),
    ],
)
def test_forward_entity_list_of_the_wrong_type(client, auth, repo, value):
    response = post_text(client, auth, element_text(forward_entity_list=value))
    assert_error(response, 400, wrong_type("forward_entity_list"))
    assert stored_rules(repo) == {}


def test_forward_entity_list_takes_up_to_eight_entries_in_order(client, auth, repo):
    entities = [str(n) for n in range(8, 0, -1)]
    assert_json(push(client, auth, item(1, 101, *entities)), 200, result((1, "created")))
    assert stored_rules(repo) == {101: (1, entities)}


@pytest.mark.parametrize("limit", [2, 10])
def test_the_entity_limit_comes_from_the_config(make_app, auth, repo, limit):
    client = make_app(MAX_ENTITIES=limit).test_client()
    too_many = [str(n) for n in range(limit + 1)]
    assert_error(push(client, auth, item(1, 101, *too_many)), 400, wrong_type("forward_entity_list"))
    assert_json(push(client, auth, item(1, 101, *too_many[:limit])), 200, result((1, "created")))
    assert stored_rules(repo) == {101: (1, too_many[:limit])}


# -- which error wins --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "element, message",
    [
        ({}, no_value("link_id")),
        ({"forward_number": "x", "forward_entity_list": 5}, no_value("link_id")),
        ({"link_id": "x"}, wrong_type("link_id")),
        ({"link_id": None, "forward_number": None}, wrong_type("link_id")),
        ({"link_id": 1}, no_value("forward_number")),
        ({"link_id": 1, "forward_entity_list": 5}, no_value("forward_number")),
        ({"link_id": 1, "forward_number": 1.0}, wrong_type("forward_number")),
        ({"link_id": 1, "forward_number": 1}, no_value("forward_entity_list")),
        ({"link_id": 1, "forward_number": 1, "forward_entity_list": None}, wrong_type("forward_entity_list")),
        # The fields' order, not the order of the keys in the JSON object.
        ({"forward_entity_list": 5, "forward_number": "x", "link_id": "y"}, wrong_type("link_id")),
        ({"forward_entity_list": 5, "forward_number": "x", "link_id": 1}, wrong_type("forward_number")),
    ],
)
def test_within_an_element_the_first_field_wins(client, auth, element, message):
    response = client.post(LINK_ITEMS, json={"list_items": [item(1, 100, "100"), element]}, headers=auth)
    assert_error(response, 400, message)


@pytest.mark.parametrize(
    "elements, message",
    [
        ([{"link_id": "x"}, {}], wrong_type("link_id")),
        ([{}, {"link_id": "x"}], no_value("link_id")),
        ([item(1, 1, "1"), {"link_id": 2, "forward_number": 0}, {"link_id": "x"}], wrong_type("forward_number")),
        ([item(1, 1, "1"), item(2, 2, "sip:x"), 5], wrong_type("forward_entity_list")),
        ([item(1, 1, "1"), 5, {"link_id": "x"}], wrong_type("list_items")),
        ([5, {"link_id": "x"}], wrong_type("list_items")),
        ([{"link_id": "x"}, 5], wrong_type("link_id")),
    ],
)
def test_the_first_element_with_a_problem_wins(client, auth, elements, message):
    assert_error(client.post(LINK_ITEMS, json={"list_items": elements}, headers=auth), 400, message)


def test_a_bad_element_after_good_ones_changes_nothing(client, auth, repo):
    push(client, auth, item(1, 101, "101"), item(2, 102, "102"))
    before = stored_rules(repo)
    response = push(
        client,
        auth,
        item(1, 101, "sip:100@sip.bas-ip.com"),  # an update
        item(3, 103, "103"),  # a creation
        item(2, 102),  # a deletion
        item(4, 104, "104", 105),
    )
    assert_error(response, 400, wrong_type("forward_entity_list"))
    assert stored_rules(repo) == before
