"""Abuse: password guessing is throttled, expired tokens are refused and purged, and no secret
ever reaches the log."""

import base64
import hashlib
import logging
import time

import pytest

from forwarding import auth as auth_module
from forwarding import create_app, credentials, throttle
from helpers import MD5_123456, basic, quick_hash

ITEMS = "/api/v1/forward/items"
WRONG_LOGIN = (400, {"error": "Wrong login or password"})
LOG_IN = (401, {"error": "Log In"})

pytestmark = pytest.mark.usefixtures("quick_password_hash")


def answer(response):
    return response.status_code, response.get_json()


def login(client, password=MD5_123456, username="admin", address="127.0.0.1"):
    return client.get(
        "/api/v1/login",
        query_string={"username": username, "password": password},
        environ_overrides={"REMOTE_ADDR": address},
    )


@pytest.fixture
def clock(monkeypatch):
    """The time as auth.py and throttle.py see it, moved on by hand: `clock.now += seconds`."""

    class Clock:
        now = time.time()

        def time(self):
            return self.now

        monotonic = time

    clock = Clock()
    monkeypatch.setattr(auth_module, "time", clock)
    monkeypatch.setattr(throttle, "time", clock)
    return clock


@pytest.fixture
def checks(monkeypatch):
    """How many times a password was really checked (the slow hash run)."""
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
        assert answer(login(client, password="0" * 32)) == WRONG_LOGIN
    assert len(checks) == max_failures
    assert (
        f"{max_failures} failed attempts for username 'admin' from 127.0.0.1 within {window} s: "
        f"its attempts are refused unchecked for {block} s"
    ) in caplog.text
    # Now even the right password is refused, as a wrong one is, and not checked.
    assert answer(login(client)) == WRONG_LOGIN
    assert answer(login(client, password=MD5_123456.upper())) == WRONG_LOGIN
    assert len(checks) == max_failures
    assert f"attempt for username 'admin' from 127.0.0.1 refused unchecked: throttled for {block} more s" in caplog.text
    # Until the block ends.
    clock.now += block - 1
    assert answer(login(client)) == WRONG_LOGIN
    clock.now += 1
    assert login(client).status_code == 200


def test_a_block_is_for_one_username_from_one_address(client, limits, checks):
    for _ in range(limits[0]):
        login(client, password="0" * 32)
    assert login(client, address="10.0.0.2").status_code == 200
    checked = len(checks)
    assert answer(login(client, username="operator")) == WRONG_LOGIN
    assert len(checks) == checked + 1  # another username is checked as usual


def test_failures_count_within_the_window_and_a_success_starts_afresh(client, limits, clock):
    max_failures, window, _ = limits
    for _ in range(max_failures - 1):
        login(client, password="0" * 32)
    clock.now += window  # those are too old to count now
    for _ in range(max_failures - 1):
        login(client, password="0" * 32)
    assert login(client).status_code == 200  # clears the count
    for _ in range(max_failures - 1):
        login(client, password="0" * 32)
    assert login(client).status_code == 200


def test_the_count_is_shared_by_every_worker(app, client, db_path, limits):
    other_worker = create_app({"TESTING": True, "DATABASE": db_path}).test_client()
    for number in range(limits[0]):
        login(client if number % 2 else other_worker, password="0" * 32)
    assert answer(login(other_worker)) == WRONG_LOGIN
    assert answer(login(client)) == WRONG_LOGIN


def test_failed_basic_attempts_count_and_are_refused_too(client, limits, checks, auth):
    # Basic checks the same password: left open, it would be the way around the throttle.
    for number in range(limits[0]):
        headers = basic("admin", "wrong") if number % 2 else {}
        if headers:
            assert answer(client.get(ITEMS, headers=headers)) == LOG_IN
        else:
            assert answer(login(client, password="0" * 32)) == WRONG_LOGIN
    checked = len(checks)
    assert answer(client.get(ITEMS, headers=basic("admin", "123456"))) == LOG_IN
    assert answer(login(client)) == WRONG_LOGIN
    assert len(checks) == checked
    # A token from before keeps working: it proves the password was known.
    assert client.get(ITEMS, headers=auth).status_code == 200


def test_expired_tokens_are_refused_and_purged(app, client, repo, clock):
    old = login(client).get_json()["token"]
    assert client.get(ITEMS, headers={"Authorization": f"Bearer {old}"}).status_code == 200
    clock.now += app.config["TOKEN_LIFETIME"]
    assert answer(client.get(ITEMS, headers={"Authorization": f"Bearer {old}"})) == LOG_IN
    new = login(client).get_json()["token"]  # a login drops the expired tokens
    stored = [digest for (digest,) in repo.db.execute("SELECT digest FROM tokens")]
    assert stored == [credentials.token_digest(new)]


def test_no_secret_reaches_the_log(app, client, repo, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger=app.logger.name)
    password, wrong = "Tr0ub4dor&3", "correct horse"
    repo.set_account("admin", quick_hash(hashlib.md5(password.encode()).hexdigest()))
    secrets = {password, wrong}
    for plain in (password, wrong):
        digest = hashlib.md5(plain.encode()).hexdigest()
        secrets |= {digest, digest.upper(), base64.b64encode(f"admin:{plain}".encode()).decode()}

    token = login(client, password=hashlib.md5(password.encode()).hexdigest().upper()).get_json()["token"]
    secrets.add(token)
    client.get(ITEMS, headers={"Authorization": f"Bearer {token}"})
    client.get(ITEMS, headers={"Authorization": f"Bearer {token[:-1]}x"})
    client.get(ITEMS, headers=basic("admin", password))
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):  # until throttled, and once more
        login(client, password=hashlib.md5(wrong.encode()).hexdigest())
        client.get(ITEMS, headers=basic("admin", wrong))
    login(client, password=hashlib.md5(password.encode()).hexdigest())

    assert "refused unchecked" in caplog.text  # the throttling was logged
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert [secret for secret in secrets if secret in logged] == []
