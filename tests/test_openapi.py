"""The OpenAPI document: served without authentication, true to docs/api.md, and the API keeps
to it under schemathesis."""

import json
import os
import tempfile

import jsonschema_rs
import pytest
import schemathesis
from werkzeug.security import generate_password_hash

from forwarding import openapi
from forwarding.api import endpoint
from forwarding.factory import create_app
from forwarding.limits import INT64_MAX, is_forward_entity
from forwarding.storage import Storage
from tests.entries import ACCEPTED, PATTERNS, REJECTED
from tests.helpers import LINK_ITEMS, LOGIN, MD5_123456, NO_THROTTLE, WRONG_JSON, no_value, wrong_type

# -- schemathesis --------------------------------------------------------------------------------
# It makes its tests when this module is collected, so the app is made here, on a database of
# its own for the whole run. The account's hash is made cheap (the same code checks it): the
# probes with wrong credentials would otherwise spend most of the run in scrypt.
_data = tempfile.TemporaryDirectory()
# No throttling: schemathesis fails logins by the hundred, which would refuse its own token's.
APP = create_app({"TESTING": True, "DATABASE": os.path.join(_data.name, "forwarding.db"), **NO_THROTTLE})
_repo = Storage(APP.config["DATABASE"])
_repo.access.set_account("admin", generate_password_hash(MD5_123456, method="pbkdf2:sha256:1"), is_default=True)
_repo.close()

_CONFIG = schemathesis.Config.from_dict(
    {
        # Schemathesis logs in as a client does and sends the token; it knows the login hands out
        # credentials, so the login's 400 for a made-up account (the documented answer) is no failure.
        "auth": {
            "dynamic": {
                "openapi": {
                    "bearer": {
                        "path": f"{LOGIN}?username=admin&password={MD5_123456}",
                        "method": "get",
                        "extract_selector": "/token",
                    }
                }
            }
        },
        "generation": {"max-examples": 20},  # each operation a few times; test_properties.py goes in depth
        # The history: a cursor it no longer serves is a valid request's documented 410; and OpenAPI
        # 3.0 cannot say that `page_number` and `after_id` exclude each other (their descriptions
        # say so), so their 400 is expected too (test_history.py checks every 400 exactly).
        "operations": [
            {
                "include-path": "/api/v1/forward/history",
                "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", "400", "401", "410"]}},
            }
        ],
    }
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP, config=_CONFIG)


@schema.parametrize()
def test_api_keeps_to_its_document(case):
    case.call_and_validate()


# -- the document --------------------------------------------------------------------------------


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")  # no Authorization header
    assert response.status_code == 200
    assert response.content_type == "application/json"
    return response.get_json()


COPY = os.path.join(os.path.dirname(__file__), "openapi.json")


def test_document_is_the_checked_in_copy(document):
    """The served document, whole, is tests/openapi.json: the same paths, methods, parameters,
    schemas and error examples. After an intended change to the API, write the copy again with
    `python -m tests.test_openapi > tests/openapi.json` and review its diff."""
    with open(COPY, encoding="utf-8") as copy:
        assert document == json.load(copy)


def test_document_is_built_once_per_app(app):
    assert openapi.document(app, endpoint) is openapi.document(app, endpoint)


def test_document_states_the_fields(document):
    assert document["openapi"] == "3.0.3"  # its `integer` is a JSON integer: not 101.0
    rule = document["components"]["schemas"]["LinkItem"]
    integer = {"type": "integer", "format": "int64", "minimum": 1, "maximum": 9223372036854775807}
    assert rule["properties"]["link_id"] == {"description": rule["properties"]["link_id"]["description"], **integer}
    assert {key: rule["properties"]["forward_number"][key] for key in integer} == integer
    entities = rule["properties"]["forward_entity_list"]
    assert entities["type"] == "array"
    assert entities["maxItems"] == 8
    patterns = [{"pattern": p} for p in PATTERNS]
    assert entities["items"] == {"type": "string", "maxLength": 512, "oneOf": patterns}
    assert rule["required"] == ["forward_entity_list", "forward_number", "link_id"]
    assert "additionalProperties" not in rule  # unknown keys are ignored


def test_list_limit_is_the_apps(db_path):
    app = create_app({"TESTING": True, "DATABASE": db_path, "MAX_ENTITIES": 3})
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert document["components"]["schemas"]["ForwardItem"]["properties"]["forward_entity_list"]["maxItems"] == 3


ENTRIES = ACCEPTED + REJECTED + ["1" * 512, "1" * 513]  # and either side of the length bound


@pytest.mark.parametrize("entry", ENTRIES)
def test_document_patterns_agree_with_the_service(document, entry):
    items = document["components"]["schemas"]["ForwardItem"]["properties"]["forward_entity_list"]["items"]
    assert jsonschema_rs.Draft4Validator(items).is_valid(entry) == is_forward_entity(entry)


@pytest.mark.parametrize("value", ["101", 101.0, True, None, 0, INT64_MAX + 1])
def test_document_integers_are_strict(document, value):
    validator = jsonschema_rs.Draft4Validator(document["components"]["schemas"]["LinkItem"]["properties"]["link_id"])
    assert not validator.is_valid(value)


def test_security_and_public_operations(document):
    assert document["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer", "description": "A login token."},
        "basic": {"type": "http", "scheme": "basic", "description": "The plain password."},
    }
    assert document["security"] == [{"bearer": []}, {"basic": []}]
    public = {
        (path, method)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") == []
    }
    assert public == {("/api/info", "get"), (LOGIN, "get"), ("/api/v1/openapi.json", "get")}


def test_error_answers_carry_the_documented_strings(document):
    responses = document["components"]["responses"]
    assert {
        name: response["content"]["application/json"]["schema"]["properties"]["error"]["enum"]
        for name, response in responses.items()
    } == {
        "LogIn": ["Log In"],
        "NotFound": ["Not found"],
        "MethodNotAllowed": ["Method not allowed"],
        "TooLarge": ["Request body too large"],
        "TooManyRequests": ["Too many requests"],
        "Internal": ["Internal server error"],
    }
    assert responses["TooManyRequests"]["headers"]["Retry-After"] == {
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
    push = document["paths"][LINK_ITEMS]["post"]["responses"]
    assert set(push) == {"200", "400", "401", "413", "429", "500"}
    assert push["429"] == {"$ref": "#/components/responses/TooManyRequests"}
    examples = push["400"]["content"]["application/json"]["examples"]
    assert [example["value"]["error"] for example in examples.values()] == [WRONG_JSON] + [
        message(name)
        for name in ("list_items", "link_id", "forward_number", "forward_entity_list")
        for message in (no_value, wrong_type)
    ] + ["Too many forward rules: at most 100000"]  # after every check of the input
    put_one = document["paths"]["/api/v1/forward/item/{forward-uid}"]["post"]["responses"]["400"]
    assert put_one["content"]["application/json"]["schema"]["properties"]["error"]["enum"] == [
        wrong_type("forward-uid"),  # checked before the body
        WRONG_JSON,
        no_value("forward_entity_list"),
        wrong_type("forward_entity_list"),
        "Too many forward rules: at most 100000",
    ]
    writes = {
        (path, method)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "429" in operation["responses"]
    }
    assert writes == {
        (LINK_ITEMS, "post"),
        ("/api/v1/forward/item/{forward-uid}", "post"),
        ("/api/v1/forward/items", "delete"),
        (LINK_ITEMS, "delete"),
    }


def test_the_support_extensions_are_marked_as_such(document):
    marked = {
        (path, method)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("x-extension") is True
        and operation.get("tags") == ["extensions"]
        and operation["description"].startswith("An extension for support: panels do not have it.")
    }
    assert marked == {("/api/v1/forward/item/{forward-uid}", "get"), ("/api/v1/forward/history", "get")}
    assert [tag["name"] for tag in document["tags"]] == ["extensions"]
    history = document["paths"]["/api/v1/forward/history"]["get"]
    assert [parameter["name"] for parameter in history["parameters"]] == [
        "forward_number",
        "link_id",
        "limit",
        "page_number",
        "after_id",
        "If-None-Match",
    ]
    assert history["responses"]["400"]["content"]["application/json"]["schema"]["properties"]["error"]["enum"] == [
        "Wrong JSON body: value `forward_number` was of the wrong type",
        "Wrong JSON body: value `link_id` was of the wrong type",
        "Wrong JSON body: value `limit` was of the wrong type",
        "Wrong JSON body: value `page_number` was of the wrong type",
        "Wrong JSON body: value `after_id` was of the wrong type",
    ]
    assert history["responses"]["410"]["content"]["application/json"]["schema"]["properties"]["error"]["enum"] == [
        "History pruned past after_id"
    ]
    record = document["components"]["schemas"]["HistoryRecord"]
    assert list(record["properties"]) == [
        "id",
        "time",
        "source",
        "request_id",
        "forward_number",
        "action",
        "before",
        "after",
    ]
    assert record["properties"]["source"]["enum"] == ["link", "item", "delete", "delete_link", "import"]
    assert "request_id" not in record["required"]


def test_the_conditional_reads_are_marked_as_such(document):
    marked = {
        (path, method)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "304" in operation["responses"]
        and operation["responses"]["200"]["headers"].get("ETag") == {"$ref": "#/components/headers/ETag"}
        and operation["parameters"][-1]["name"] == "If-None-Match"
    }
    assert marked == {
        ("/api/v1/forward/items", "get"),
        ("/api/v1/forward/items/link", "get"),
        ("/api/v1/forward/item/{forward-uid}", "get"),
        ("/api/v1/forward/history", "get"),
    }
    assert document["components"]["headers"]["ETag"]["schema"] == {"type": "string", "pattern": '^"[0-9a-f]{32}"$'}


def test_the_history_example_keeps_to_the_document(document):
    media = document["paths"]["/api/v1/forward/history"]["get"]["responses"]["200"]["content"]["application/json"]
    schema = {"$ref": "#/components/schemas/HistoryPage", "components": document["components"]}
    validator = jsonschema_rs.Draft4Validator(schema)
    example = media["examples"]["page"]["value"]
    assert validator.is_valid(example)
    [record] = example["list_items"]
    assert not validator.is_valid({**example, "list_items": [{**record, "time": "2026-11-30T10:15:04Z"}]})


if __name__ == "__main__":  # the copy: the document this app serves, with the default list limit
    print(json.dumps(APP.test_client().get("/api/v1/openapi.json").get_json(), indent=2, ensure_ascii=False))
