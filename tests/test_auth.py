"""Authentication (docs/api.md): the login, tokens, Bearer and Basic, and the 401."""

import base64
import os
import pathlib
import uuid

import pytest

from tests.helpers import (
    LINK_ITEMS,
    LOGIN,
    MD5_123456,
    assert_error,
    assert_json,
    basic,
    bearer,
    item,
    log_in,
    md5,
    push,
    result,
)


def protected_call(client, headers):
    """A request that only an authenticated client gets a 200 for."""
    return client.post(LINK_ITEMS, json={"list_items": []}, headers=headers)


def assert_allowed(response):
    assert_json(response, 200, {"result": []})


def assert_log_in(response):
    assert_error(response, 401, "Log In")


# -- login ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("password", [MD5_123456, MD5_123456.upper(), "E10adc3949BA59abbe56e057f20f883e"])
def test_login_takes_the_md5_in_either_case(client, password):
    response = log_in(client, password=password)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["token", "account_type"]
    assert body["account_type"] == "admin"
    assert str(uuid.UUID(body["token"])) == body["token"]  # a UUID in its usual text form
    assert uuid.UUID(body["token"]).version == 4  # random
    assert_allowed(protected_call(client, bearer(body["token"])))


def test_every_login_gets_its_own_token(client):
    first, second = (log_in(client).get_json()["token"] for _ in range(2))
    assert first != second
    assert_allowed(protected_call(client, bearer(first)))
    assert_allowed(protected_call(client, bearer(second)))


@pytest.mark.parametrize(
    "username, password",
    [
        ("admin", "123456"),  # the password itself, not its MD5
        ("admin", md5("1234567")),
        ("admin", MD5_123456 + "0"),
        ("admin", " " + MD5_123456),
        ("Admin", MD5_123456),
        ("admin ", MD5_123456),
        ("root", MD5_123456),
    ],
)
def test_login_with_a_wrong_username_or_password(client, username, password):
    assert_error(log_in(client, username, password), 400, "Wrong login or password")


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"username": "admin"},
        {"password": MD5_123456},
        {"username": "", "password": MD5_123456},
        {"username": "admin", "password": ""},
        {"username": "", "password": ""},
        {"user": "admin", "pass": MD5_123456},
    ],
)
def test_login_with_a_parameter_missing_or_empty(client, query):
    assert_error(client.get(LOGIN, query_string=query), 400, "Required parameters missed")


@pytest.mark.parametrize(
    "query, status, body",
    [
        ({"username": "admin", "password": MD5_123456}, 200, None),
        ({"username": "admin", "password": "0" * 32}, 400, {"error": "Wrong login or password"}),
        ({"username": "admin"}, 400, {"error": "Required parameters missed"}),
    ],
)
def test_no_cache_keeps_the_login_answer(client, query, status, body):
    # It holds a token, or tells whether a password was right.
    response = client.get(LOGIN, query_string=query)
    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-store"
    if body is not None:
        assert_error(response, status, body["error"])
    else:
        assert list(response.get_json()) == ["token", "account_type"]


def test_other_answers_say_nothing_of_caches(client, token):
    assert "Cache-Control" not in client.get("/api/info").headers
    assert "Cache-Control" not in protected_call(client, bearer(token)).headers


@pytest.mark.parametrize("header", [basic("admin", "wrong"), bearer("not-a-token"), {"Authorization": "Basic !!!"}])
def test_login_ignores_an_authorization_header(client, header):
    assert log_in(client, headers=header).status_code == 200


def test_login_ignores_right_basic_credentials_too(client):
    assert_error(log_in(client, password="0" * 32, headers=basic("admin", "123456")), 400, "Wrong login or password")


def test_tokens_are_stored_only_as_a_hash(client, db_path):
    token = log_in(client).get_json()["token"]
    stored = b"".join(pathlib.Path(path).read_bytes() for path in (db_path, db_path + "-wal") if os.path.exists(path))
    for secret in (token, token.upper(), token.replace("-", ""), MD5_123456):
        assert secret.encode() not in stored


# -- tokens ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_in_any_case(client, token, scheme):
    assert_allowed(protected_call(client, bearer(token, scheme)))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer " + str(uuid.uuid4()),  # a token that was never issued
        "Bearer ",
        "Bearer",
        "Token {token}",
        "{token}",
        "Bearer {token}x",
        "Bearer a=b, c=d",
        "Bearer {token_upper}",
    ],
)
def test_a_wrong_token(client, token, header):
    headers = {"Authorization": header.format(token=token, token_upper=token.upper())}
    assert_log_in(protected_call(client, headers))


def test_a_token_expires_after_its_lifetime(make_app, clock):
    client = make_app(TOKEN_LIFETIME=60).test_client()
    token = log_in(client).get_json()["token"]
    clock.advance(59.9)
    assert_allowed(protected_call(client, bearer(token)))
    clock.advance(0.1)
    assert_log_in(protected_call(client, bearer(token)))
    # No refresh: the client logs in again.
    assert_allowed(protected_call(client, bearer(log_in(client).get_json()["token"])))


def test_tokens_live_two_hours_by_default(client, clock):
    token = log_in(client).get_json()["token"]
    clock.advance(2 * 3600 - 1)
    assert_allowed(protected_call(client, bearer(token)))
    clock.advance(1)
    assert_log_in(protected_call(client, bearer(token)))


def test_expired_tokens_are_dropped_from_the_database(client, repo, clock):
    log_in(client)
    clock.advance(2 * 3600)
    token = log_in(client).get_json()["token"]
    assert repo.database.connection.execute("SELECT count(*) FROM tokens").fetchone() == (1,)
    assert_allowed(protected_call(client, bearer(token)))


def test_a_token_from_one_instance_works_in_another_and_after_a_restart(make_app):
    first, second = make_app(), make_app()
    token = log_in(first.test_client()).get_json()["token"]
    assert_allowed(protected_call(second.test_client(), bearer(token)))
    restarted = make_app()
    assert_allowed(protected_call(restarted.test_client(), bearer(token)))


# -- Basic ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Basic", "basic", "BASIC"])
def test_basic_with_the_right_credentials(client, scheme):
    assert_allowed(protected_call(client, basic("admin", "123456", scheme)))


@pytest.mark.parametrize(
    "header",
    [
        basic("admin", "1234567")["Authorization"],
        basic("admin", MD5_123456)["Authorization"],  # Basic carries the password itself
        basic("admin", "")["Authorization"],
        basic("Admin", "123456")["Authorization"],
        basic("root", "123456")["Authorization"],
        basic("", "123456")["Authorization"],
        basic("admin", "123456:")["Authorization"],
        "Basic " + base64.b64encode(b"admin").decode(),  # no colon
        "Basic " + base64.b64encode(b"admin:\xff").decode(),  # not UTF-8
        "Basic !!!",
        "Basic",
        "Basic ",
        "BasicYWRtaW46MTIzNDU2",
        "Basic YWRtaW46MTIzNDU2 YWRtaW46MTIzNDU2",
        "Digest username=admin",
        "",
    ],
)
def test_basic_with_wrong_or_malformed_credentials(client, header):
    assert_log_in(protected_call(client, {"Authorization": header}))


# -- the 401 ---------------------------------------------------------------------------------------

PROTECTED = [
    ("POST", LINK_ITEMS),
    ("GET", LINK_ITEMS),
    ("DELETE", LINK_ITEMS),
    ("GET", "/api/v1/forward/items"),
    ("DELETE", "/api/v1/forward/items"),
    ("POST", "/api/v1/forward/item/101"),
    ("POST", "/api/v1/forward/item/not-a-number"),
]


@pytest.mark.parametrize("method, path", PROTECTED)
@pytest.mark.parametrize("headers", [{}, bearer(str(uuid.uuid4()))])
@pytest.mark.parametrize("body", [b"", b"not json", b'{"list_items": "x", "uid_items": "x", "link_ids": "x"}'])
def test_every_endpoint_asks_to_log_in_before_looking_at_the_body(client, method, path, headers, body):
    assert_log_in(client.open(path, method=method, data=body, headers=headers, query_string={"limit": "x"}))


@pytest.mark.parametrize("method, path", PROTECTED)
def test_every_endpoint_refuses_wrong_basic_credentials(client, method, path):
    assert_log_in(client.open(path, method=method, data=b"not json", headers=basic("admin", "wrong")))


def test_a_body_too_large_from_an_unknown_client_is_a_401(make_app):
    client = make_app(MAX_CONTENT_LENGTH=100).test_client()
    assert_log_in(client.post(LINK_ITEMS, data=b"x" * 1000))


@pytest.mark.parametrize("headers", [{}, bearer("nonsense")])
def test_login_and_info_need_no_authentication(client, headers):
    assert log_in(client, headers=headers).status_code == 200
    assert client.get("/api/info", headers=headers).status_code == 200


def test_login_ignores_unknown_query_parameters(client):
    query = {"username": "admin", "password": MD5_123456, "lang": "en", "remember": "1"}
    assert client.get(LOGIN, query_string=query).status_code == 200


def test_a_valid_push_with_basic_and_a_token_alike(client, token):
    for headers in (bearer(token), basic("admin", "123456")):
        assert push(client, headers, item(1, 101, "101")).status_code == 200
    assert_json(push(client, bearer(token), item(1, 101)), 200, result((1, "deleted")))


def test_a_token_revoked_in_another_process_is_refused_at_once(make_app, runner, token):
    worker = make_app().test_client()  # another uWSGI worker, which has just served this token
    tag = worker.get("/api/v1/forward/items", headers=bearer(token)).headers["ETag"]
    assert worker.get("/api/v1/forward/items", headers={**bearer(token), "If-None-Match": tag}).status_code == 304
    assert runner.invoke(args=["revoke-tokens"]).exit_code == 0
    assert_log_in(worker.get("/api/v1/forward/items", headers={**bearer(token), "If-None-Match": tag}))
    assert_log_in(worker.get("/api/v1/forward/items", headers=bearer(token)))
