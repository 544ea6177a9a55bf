"""Abuse: password guessing is throttled, for every worker alike, and no secret ever reaches the
log. (Expired tokens refused and purged: test_auth.py.)"""

import base64
import datetime
import hashlib
import logging
import re

import pytest
from helpers import MD5_123456, assert_error, basic
from werkzeug.security import generate_password_hash

from forwarding import credentials

ITEMS = "/api/v1/forward/items"
WRONG_MD5 = "0" * 32


def login(client, password=MD5_123456, username="admin", address="127.0.0.1"):
    return client.get(
        "/api/v1/login",
        query_string={"username": username, "password": password},
        environ_overrides={"REMOTE_ADDR": address},
    )


def shown_time(text):
    """The time a log line shows (local, with its offset: `2026-11-30 04:25:17+01:00`), in seconds."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d", text)
    return int(datetime.datetime.fromisoformat(text).timestamp())


def assert_wrong_login(response):
    assert_error(response, 400, "Wrong login or password")


@pytest.fixture
def checks(monkeypatch):
    """Each time a password was really checked (the slow hash run)."""
    calls = []
    digest_matches = credentials.digest_matches

    def counted(*args):
        calls.append(args)
        return digest_matches(*args)

    monkeypatch.setattr(credentials, "digest_matches", counted)
    return calls


@pytest.fixture
def limits(app):
    return app.config["LOGIN_MAX_FAILURES"], app.config["LOGIN_WINDOW_SECONDS"], app.config["LOGIN_BLOCK_SECONDS"]


def test_failed_logins_block_the_username_from_that_address(client, limits, checks, clock, caplog):
    max_failures, window, block = limits
    for _ in range(max_failures):
        assert_wrong_login(login(client, password=WRONG_MD5))
    assert len(checks) == max_failures
    started = re.search(
        f"{max_failures} failed attempts for username 'admin' from 127.0.0.1 within {window} s: "
        f"its attempts are refused unchecked until (.*) \\({block} s\\)$",
        caplog.text,
        re.MULTILINE,
    )
    assert shown_time(started[1]) == int(clock.now + block)
    # Now even the right password is refused, as a wrong one is, and not checked.
    clock.advance(100)
    assert_wrong_login(login(client))
    assert_wrong_login(login(client, password=MD5_123456.upper()))
    assert len(checks) == max_failures
    refused = re.search(
        "attempt for username 'admin' from 127.0.0.1 refused unchecked: "
        f"throttled until (.*) \\({block - 100} s more\\)$",
        caplog.text,
        re.MULTILINE,
    )
    assert refused[1] == started[1]
    clock.advance(-100)
    # Until the block ends.
    clock.advance(block - 1)
    assert_wrong_login(login(client))
    clock.advance(1)
    assert login(client).status_code == 200


def test_a_block_is_for_one_username_from_one_address(client, limits, checks):
    for _ in range(limits[0]):
        login(client, password=WRONG_MD5)
    assert login(client, address="10.0.0.2").status_code == 200
    checked = len(checks)
    assert_wrong_login(login(client, username="operator"))
    assert len(checks) == checked + 1  # another username is checked as usual


def test_failures_count_within_the_window_and_a_success_starts_afresh(client, limits, clock):
    max_failures, window, _ = limits
    for _ in range(max_failures - 1):
        login(client, password=WRONG_MD5)
    clock.advance(window)  # those are too old to count now
    for _ in range(max_failures - 1):
        login(client, password=WRONG_MD5)
    assert login(client).status_code == 200  # clears the count
    for _ in range(max_failures - 1):
        login(client, password=WRONG_MD5)
    assert login(client).status_code == 200


def test_the_limits_come_from_the_config(make_app, clock):
    client = make_app(LOGIN_MAX_FAILURES=2, LOGIN_WINDOW_SECONDS=10, LOGIN_BLOCK_SECONDS=30).test_client()
    login(client, password=WRONG_MD5)
    clock.advance(10)  # out of the window
    login(client, password=WRONG_MD5)
    assert login(client).status_code == 200
    login(client, password=WRONG_MD5)
    login(client, password=WRONG_MD5)
    clock.advance(29)
    assert_wrong_login(login(client))
    clock.advance(1)
    assert login(client).status_code == 200


def test_the_count_is_shared_by_every_worker(client, make_app, limits):
    other_worker = make_app().test_client()
    for number in range(limits[0]):
        login(client if number % 2 else other_worker, password=WRONG_MD5)
    assert_wrong_login(login(other_worker))
    assert_wrong_login(login(client))


def test_failed_basic_attempts_count_and_are_refused_too(client, limits, checks, auth):
    # Basic checks the same password: left open, it would be the way around the throttle.
    for number in range(limits[0]):
        if number % 2:
            assert_error(client.get(ITEMS, headers=basic("admin", "wrong")), 401, "Log In")
        else:
            assert_wrong_login(login(client, password=WRONG_MD5))
    checked = len(checks)
    assert_error(client.get(ITEMS, headers=basic("admin", "123456")), 401, "Log In")
    assert_wrong_login(login(client))
    assert len(checks) == checked
    # A token from before keeps working: it proves the password was known.
    assert client.get(ITEMS, headers=auth).status_code == 200


def test_no_secret_reaches_the_log(app, client, repo, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger=app.logger.name)
    password, wrong = "Tr0ub4dor&3", "correct horse"
    md5 = {plain: hashlib.md5(plain.encode()).hexdigest() for plain in (password, wrong)}
    repo.set_account("admin", generate_password_hash(md5[password], "pbkdf2:sha256:1"))  # quick to check
    secrets = {password, wrong}
    for plain in (password, wrong):
        secrets |= {md5[plain], md5[plain].upper(), base64.b64encode(f"admin:{plain}".encode()).decode()}

    token = login(client, password=md5[password].upper()).get_json()["token"]
    secrets.add(token)
    client.get(ITEMS, headers={"Authorization": f"Bearer {token}"})
    client.get(ITEMS, headers={"Authorization": f"Bearer {token[:-1]}x"})
    client.get(ITEMS, headers=basic("admin", password))
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):  # until throttled, and once more
        login(client, password=md5[wrong])
        client.get(ITEMS, headers=basic("admin", wrong))
        login(client, username=password, password=md5[password])  # the password typed as the username
    login(client, password=md5[password])
    login(client, username=password, password=md5[password])

    assert "refused unchecked" in caplog.text  # the throttling was logged
    assert "for another username from 127.0.0.1 within" in caplog.text
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert [secret for secret in secrets if secret in logged] == []
