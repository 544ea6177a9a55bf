"""Failures outside validation (docs/api.md): 404, 405, 413 and 500, all as the panel's
error JSON; a failure part-way through a push leaves nothing half-written."""

import json
import logging
import sqlite3

import pytest

from forwarding import config
from forwarding.storage import Access, Rules
from forwarding.storage import rules as storage_rules
from tests.helpers import LINK_ITEMS, LOGIN, MD5_123456, assert_error, assert_json, item, push, result, stored_rules


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/nope",
        "/api",
        "/api/v1",
        "/api/v1/forward",
        f"{LINK_ITEMS}/1",
        "/api/v1/forward/item/",
        "/api/v2/login",
        # Doubled slashes: unknown paths as well, not redirects (nginx merges them before the service).
        "/api//info",
        "/api/v1//login",
        "/api/v1/forward//items/link",
        "/api/v1/forward/item//101",
    ],
)
def test_not_found(client, auth, path):
    assert_error(client.get(path), 404, "Not found")
    assert_error(client.post(path, headers=auth, data="{}"), 404, "Not found")


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("POST", "/api/info", {"GET", "HEAD", "OPTIONS"}),
        ("POST", LOGIN, {"GET", "HEAD", "OPTIONS"}),
        ("DELETE", LOGIN, {"GET", "HEAD", "OPTIONS"}),
        ("PUT", LINK_ITEMS, {"GET", "HEAD", "OPTIONS", "POST", "DELETE"}),
        ("PATCH", LINK_ITEMS, {"GET", "HEAD", "OPTIONS", "POST", "DELETE"}),
    ],
)
def test_method_not_allowed(client, auth, method, path, allowed):
    response = client.open(path, method=method, headers=auth, data="{}")
    assert_error(response, 405, "Method not allowed")
    assert response.headers["Allow"] == ", ".join(sorted(allowed))


@pytest.mark.parametrize(
    "path, allowed",
    [
        ("/api/info", {"GET", "HEAD", "OPTIONS"}),
        ("/api/v1/login", {"GET", "HEAD", "OPTIONS"}),
        (LINK_ITEMS, {"GET", "HEAD", "OPTIONS", "POST", "DELETE"}),
        ("/api/v1/forward/item/101", {"GET", "HEAD", "OPTIONS", "POST"}),  # GET: the look-up of 7.1
    ],
)
def test_options_answers_json_with_allow_and_no_login(client, path, allowed):
    response = client.options(path)
    assert_json(response, 200, {})
    assert response.headers["Allow"] == ", ".join(sorted(allowed))


def test_options_on_an_unknown_path_is_not_found(client):
    assert_error(client.options("/api/v1/nope"), 404, "Not found")


@pytest.mark.parametrize("path", ["//api/info", "/api//info", "/api/v1/forward//items", f"{LINK_ITEMS}//"])
def test_doubled_slashes_are_unknown_paths_not_redirects(client, auth, path):
    # PATH_INFO itself: the test client would read a leading `//` as the start of a host.
    response = client.get(environ_overrides={"PATH_INFO": path}, headers=auth)
    assert_error(response, 404, "Not found")
    assert "Location" not in response.headers


def padded(body, size):
    """`body` as JSON text of exactly `size` bytes (JSON whitespace is free)."""
    text = json.dumps(body).encode()
    return text + b" " * (size - len(text))


def test_the_body_size_limit_comes_from_the_config(make_app, auth, repo):
    client = make_app(MAX_CONTENT_LENGTH=1000).test_client()
    body = {"list_items": [item(1, 101, "101")]}
    assert_error(client.post(LINK_ITEMS, data=padded(body, 1001), headers=auth), 413, "Request body too large")
    assert stored_rules(repo) == {}
    assert_json(client.post(LINK_ITEMS, data=padded(body, 1000), headers=auth), 200, result((1, "created")))


def test_the_body_size_limit_is_16_mib_by_default(client, auth):
    assert config.DEFAULTS["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    body = {"list_items": []}
    assert_error(
        client.post(LINK_ITEMS, data=padded(body, 16 * 1024 * 1024 + 1), headers=auth), 413, "Request body too large"
    )
    assert_json(client.post(LINK_ITEMS, data=padded(body, 16 * 1024 * 1024), headers=auth), 200, {"result": []})


def fail(*args, **kwargs):
    raise sqlite3.OperationalError("disk I/O error at /secret/path")


@pytest.mark.parametrize(
    "part, method, request_args",
    [
        (Rules, "apply_link_items", ("POST", LINK_ITEMS, {"list_items": [item(1, 101, "101")]})),
        (Access, "account", ("GET", f"{LOGIN}?username=admin&password={MD5_123456}", None)),
        (Access, "token_owner", ("POST", LINK_ITEMS, {"list_items": []})),
    ],
)
def test_an_unexpected_error_is_a_500_without_details(client, auth, monkeypatch, caplog, part, method, request_args):
    monkeypatch.setattr(part, method, fail)
    verb, path, body = request_args
    response = client.open(path, method=verb, json=body, headers=auth)
    assert_error(response, 500, "Internal server error")
    # The details go to the log, for the operator; never the token.
    assert "disk I/O error at /secret/path" in caplog.text
    assert auth["Authorization"].split()[1] not in caplog.text


def test_a_failure_part_way_through_a_push_leaves_nothing_of_it(client, auth, repo, monkeypatch):
    push(client, auth, item(1, 101, "101"), item(2, 102, "102"))
    before = stored_rules(repo)

    entities_text = storage_rules.entities_text

    def written(value):  # the third rule cannot be written
        if value == ["666"]:
            raise OSError("no space left on device")
        return entities_text(value)

    monkeypatch.setattr(storage_rules, "entities_text", written)
    response = push(client, auth, item(1, 101, "vizit:1"), item(2, 102), item(3, 103, "666"), item(4, 104, "104"))
    assert_error(response, 500, "Internal server error")
    assert stored_rules(repo) == before


def test_the_log_says_what_failed(client, auth, monkeypatch, caplog):
    monkeypatch.setattr(Rules, "apply_link_items", fail)
    with caplog.at_level(logging.ERROR, logger="forwarding"):
        push(client, auth, item(1, 101, "101"))
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is not None
