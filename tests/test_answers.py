"""Every endpoint's real answers keep to the answer schema it declares, as the checked-in document
(tests/openapi.json) states it: the answers written as text for speed (the bulk results, the list
pages) as well as those Flask encodes. The schemas list every key (`additionalProperties: false`),
type the values strictly and name the words each value may be."""

import json
import os

import jsonschema_rs
import pytest

from tests.helpers import ITEMS, LINK_ITEMS, LOGIN, MD5_123456, item

with open(os.path.join(os.path.dirname(__file__), "openapi.json"), encoding="utf-8") as _copy:
    DOCUMENT = json.load(_copy)

ITEM = "/api/v1/forward/item/{forward-uid}"
HISTORY = "/api/v1/forward/history"


def json_schema(node):
    """OpenAPI 3.0's schema as JSON Schema: its `nullable` is not JSON Schema's. apispec writes a
    nested schema that may be null as `anyOf: [{$ref}, {type: object, nullable: true}]`, where the
    second means null."""
    if isinstance(node, list):
        return [json_schema(value) for value in node]
    if not isinstance(node, dict):
        return node
    if node == {"type": "object", "nullable": True}:
        return {"type": "null"}
    converted = {key: json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        converted["type"] = [node["type"], "null"]
    return converted


def declared(path, method):
    """The validator of the 200 answer that the document gives the operation."""
    media = DOCUMENT["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return jsonschema_rs.Draft4Validator(json_schema({**media["schema"], "components": DOCUMENT["components"]}))


@pytest.fixture
def answers(client, auth, runner, tmp_path):
    """`(path, method) -> [answer bodies]`: each endpoint's 200 answers, in its several cases."""
    seen = {}

    def call(path, method, url=None, **kwargs):
        response = client.open(url or path, method=method.upper(), **kwargs)
        assert response.status_code == 200, response.get_data()
        seen.setdefault((path, method), []).append(response.get_json())

    call("/api/info", "get")
    call(LOGIN, "get", f"{LOGIN}?username=admin&password={MD5_123456}")
    # Every outcome of a push: created, updated, deleted, and entity_not_found.
    call(
        LINK_ITEMS,
        "post",
        json={"list_items": [item(1, 101, "1001"), item(2, 102, "sip:1@a.b", "vizit:9")]},
        headers=auth,
    )
    call(LINK_ITEMS, "post", json={"list_items": [item(1, 101, "1002"), item(2, 102), item(7, 107)]}, headers=auth)
    call(ITEM, "post", "/api/v1/forward/item/103", json={"forward_entity_list": ["1003"]}, headers=auth)  # no link_id
    call(ITEM, "post", "/api/v1/forward/item/104", json={"forward_entity_list": []}, headers=auth)
    call(ITEM, "get", "/api/v1/forward/item/101", headers=auth)  # with its link_id
    call(ITEM, "get", "/api/v1/forward/item/103", headers=auth)  # without one
    for url in (ITEMS, f"{ITEMS}?limit=1&page_number=2&sort_type=desc", f"{ITEMS}?page_number=9"):
        call(ITEMS, "get", url, headers=auth)
    for url in (LINK_ITEMS, f"{LINK_ITEMS}?link_id=1", f"{LINK_ITEMS}?link_id=5"):
        call(LINK_ITEMS, "get", url, headers=auth)
    path = tmp_path / "rules.json"  # the operator's import: records without a request id
    path.write_text(json.dumps({"version": 1, "items": [{"forward_number": 105, "forward_entity_list": ["1005"]}]}))
    assert runner.invoke(args=["import", str(path)]).exit_code == 0
    call(HISTORY, "get", headers=auth)  # created, updated and deleted; before or after null
    call(HISTORY, "get", f"{HISTORY}?forward_number=101&limit=1", headers=auth)
    call(HISTORY, "get", f"{HISTORY}?after_id=0&limit=2", headers=auth)  # by cursor
    call(HISTORY, "get", f"{HISTORY}?after_id=6", headers=auth)  # by cursor, at the end
    call(ITEMS, "delete", json={"uid_items": [103, 103]}, headers=auth)  # deleted, then entity_not_found
    call(LINK_ITEMS, "delete", json={"link_ids": [1, 1]}, headers=auth)
    call("/api/v1/openapi.json", "get")
    return seen


def test_every_operation_is_checked(answers):
    assert set(answers) == {(path, method) for path, operations in DOCUMENT["paths"].items() for method in operations}


def test_answers_keep_to_their_declared_schemas(answers):
    for (path, method), bodies in answers.items():
        validator = declared(path, method)
        for body in bodies:
            errors = [error.message for error in validator.iter_errors(body)]
            assert errors == [], (path, method, body)


def test_the_cursor_answers_are_checked(answers):
    options = [body["list_option"] for body in answers[(HISTORY, "get")]]
    assert [option["cursor"] for option in options if "cursor" in option] == [
        {"after_id": 0, "next_after_id": 2, "items_limit": 2},
        {"after_id": 6, "next_after_id": 6, "items_limit": 100},
    ]
    # The two shapes are told apart: a cursor's answer with a page's option is neither.
    body = answers[(HISTORY, "get")][-1]
    assert not declared(HISTORY, "get").is_valid({**body, "list_option": {**options[0], **options[-1]}})


def test_the_cases_cover_every_word(answers):
    """The answers above hold every value the schemas name, so each word is checked."""
    outcomes = {entry["extended_info"] for body in answers[(LINK_ITEMS, "post")] for entry in body["result"]}
    assert outcomes == {"created", "updated", "deleted", "entity_not_found"}
    records = [record for body in answers[(HISTORY, "get")] for record in body["list_items"]]
    assert {record["source"] for record in records} == {"link", "item", "import"}
    assert {record["action"] for record in records} == {"created", "updated", "deleted"}
    assert any("request_id" not in record for record in records)
    assert any(record["before"] is None for record in records) and any(record["after"] is None for record in records)


UNDECLARED = [
    (path, method)
    for path, operations in DOCUMENT["paths"].items()
    for method in operations
    if path != "/api/v1/openapi.json"
]


@pytest.mark.parametrize(("path", "method"), UNDECLARED)
def test_a_key_not_declared_breaks_the_schema(answers, path, method):
    """The check can fail: an answer with one more key than its schema lists is refused."""
    body = answers[(path, method)][0]
    assert not declared(path, method).is_valid({**body, "undeclared": 1})
