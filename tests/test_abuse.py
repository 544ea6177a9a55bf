"""Abuse: password guessing is throttled, for every worker alike, and no secret ever reaches the
log. (Expired tokens refused and purged: test_auth.py.)"""

import base64
import datetime
import logging
import re
import sqlite3
from contextlib import closing

import pytest
from werkzeug.security import generate_password_hash

from tests.helpers import (
    ITEMS,
    LINK_ITEMS,
    MD5_123456,
    WRONG_MD5,
    assert_error,
    assert_json,
    basic,
    bearer,
    item,
    local,
    log_in,
    md5,
    result,
)


def shown_time(text):
    """The time a log line shows (local, with its offset: `2026-11-30 04:25:17+01:00`), in seconds."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d", text)
    return int(datetime.datetime.fromisoformat(text).timestamp())


def assert_wrong_login(response):
    assert_error(response, 400, "Wrong login or password")


# Password checks for a blocked username from its address that still run in each hour of the
# block (README, "Support"): a client behind the same NAT as an attacker still gets in.
BLOCKED_CHECKS = 3


def spend_the_blocked_checks(send):
    """Use up the hour's checks of a block with wrong passwords: `send()` sends one, and they are
    checked, answered as wrong, and extend nothing."""
    for _ in range(BLOCKED_CHECKS):
        send()


@pytest.fixture
def limits():
    """The defaults (README, "Configuration"), written out: failures that block, their window and
    the block, in seconds."""
    return 10, 900, 900


def test_failed_logins_block_the_username_from_that_address(client, limits, checks, clock, caplog):
    max_failures, window, block = limits
    for _ in range(max_failures):
        assert_wrong_login(log_in(client, password=WRONG_MD5))
    assert len(checks) == max_failures
    started = re.search(
        f"{max_failures} failed attempts for username 'admin' from 127.0.0.1 within {window} s: "
        f"its attempts are refused unchecked until (.*) \\({block} s\\)$",
        caplog.text,
        re.MULTILINE,
    )
    assert shown_time(started[1]) == int(clock.now + block)
    # Still a few checks an hour run, wrong passwords included; once they are spent, even the
    # right password is refused, as a wrong one is, and not checked.
    spend_the_blocked_checks(lambda: assert_wrong_login(log_in(client, password=WRONG_MD5)))
    assert len(checks) == max_failures + BLOCKED_CHECKS
    clock.advance(100)
    assert_wrong_login(log_in(client))
    assert_wrong_login(log_in(client, password=MD5_123456.upper()))
    assert len(checks) == max_failures + BLOCKED_CHECKS
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
    assert_wrong_login(log_in(client))
    clock.advance(1)
    assert log_in(client).status_code == 200


def login_failures(repo):
    """`(failures, window_start, blocked_until, address)` of each count, by its key."""
    db = repo.database.connection
    return db.execute(
        "SELECT failures, window_start, blocked_until, address FROM login_failures ORDER BY key"
    ).fetchall()


def test_during_a_block_the_right_password_still_gets_in_and_lifts_it(client, limits, checks, clock, repo):
    max_failures, _, block = limits
    for _ in range(max_failures):
        assert_wrong_login(log_in(client, password=WRONG_MD5))
    start = clock.now
    assert login_failures(repo) == [(0, start, start + block, "127.0.0.1")]
    clock.advance(600)  # someone else behind the same address, with the password
    assert log_in(client).status_code == 200
    assert len(checks) == max_failures + 1
    assert login_failures(repo) == []


def test_a_blocked_username_gets_three_checks_an_hour_and_no_more(make_app, repo, checks, clock, caplog):
    client = make_app(LOGIN_BLOCK_SECONDS=7200).test_client()  # a block of two hours
    for _ in range(10):
        log_in(client, password=WRONG_MD5)
    start = clock.now
    for number in range(BLOCKED_CHECKS):
        clock.advance(100)
        assert_wrong_login(log_in(client, password=WRONG_MD5))
        # Counted as checks of the hour, which started with the block; the block stays as it was.
        assert login_failures(repo) == [(number + 1, start, start + 7200, "127.0.0.1")]
    assert len(checks) == 10 + BLOCKED_CHECKS
    assert_wrong_login(log_in(client))  # the right password: the hour's checks are spent
    assert_error(client.get(ITEMS, headers=basic("admin", "123456")), 401, "Log In")
    assert len(checks) == 10 + BLOCKED_CHECKS
    assert (
        "attempt for username 'admin' from 127.0.0.1 refused unchecked: throttled until"
        f" {local(start + 7200)} ({7200 - 300} s more)"
    ) in caplog.text
    assert login_failures(repo) == [(BLOCKED_CHECKS, start, start + 7200, "127.0.0.1")]
    # The next hour of the block brings three more.
    clock.advance(start + 3600 - clock.now)
    assert_wrong_login(log_in(client, password=WRONG_MD5))
    assert login_failures(repo) == [(1, start + 3600, start + 7200, "127.0.0.1")]
    assert len(checks) == 10 + BLOCKED_CHECKS + 1


def test_the_last_check_of_the_hour_goes_to_one_attempt_alone(repo, clock):
    # Two workers that both saw one check left: the first to count it runs it, the other is refused.
    repo.database.connection.execute(
        "INSERT INTO login_failures VALUES ('k', 2, ?, ?, '127.0.0.1')", (clock.now, clock.now + 900)
    )
    assert repo.access.take_blocked_check("k", clock.now, 3, 3600) is True
    assert repo.access.take_blocked_check("k", clock.now, 3, 3600) is False
    assert login_failures(repo) == [(3, clock.now, clock.now + 900, "127.0.0.1")]
    # Without a block in force there is nothing to take.
    assert repo.access.take_blocked_check("k", clock.now + 900, 3, 3600) is False


def test_after_a_block_a_new_count_starts(client, limits, checks, clock, repo):
    max_failures, _, block = limits
    for _ in range(max_failures + BLOCKED_CHECKS):
        log_in(client, password=WRONG_MD5)
    clock.advance(block)
    assert_wrong_login(log_in(client, password=WRONG_MD5))
    assert login_failures(repo) == [(1, clock.now, 0, "127.0.0.1")]


def test_a_block_is_for_one_username_from_one_address(client, limits, checks):
    for _ in range(limits[0] + BLOCKED_CHECKS):
        log_in(client, password=WRONG_MD5)
    # Blocked from this address: the right password is refused, unchecked.
    assert_wrong_login(log_in(client))
    checked = limits[0] + BLOCKED_CHECKS
    assert len(checks) == checked
    # From another address the same username is checked, and logs in.
    assert log_in(client, environ_overrides={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200
    assert len(checks) == checked + 1
    assert_wrong_login(log_in(client, username="operator"))
    assert len(checks) == checked + 2  # another username is checked as usual


def test_failures_count_within_the_window_and_a_success_starts_afresh(client, limits, clock):
    max_failures, window, _ = limits
    for _ in range(max_failures - 1):
        log_in(client, password=WRONG_MD5)
    clock.advance(window)  # those are too old to count now
    for _ in range(max_failures - 1):
        log_in(client, password=WRONG_MD5)
    assert log_in(client).status_code == 200  # clears the count
    for _ in range(max_failures - 1):
        log_in(client, password=WRONG_MD5)
    assert log_in(client).status_code == 200
    # What does count is enough: max_failures within the window block even the right password,
    # once the block's checks are spent.
    for _ in range(max_failures + BLOCKED_CHECKS):
        assert_wrong_login(log_in(client, password=WRONG_MD5))
    assert_wrong_login(log_in(client))


def test_the_limits_come_from_the_config(make_app, clock):
    client = make_app(LOGIN_MAX_FAILURES=2, LOGIN_WINDOW_SECONDS=10, LOGIN_BLOCK_SECONDS=30).test_client()
    log_in(client, password=WRONG_MD5)
    clock.advance(10)  # out of the window
    log_in(client, password=WRONG_MD5)
    assert log_in(client).status_code == 200
    log_in(client, password=WRONG_MD5)
    log_in(client, password=WRONG_MD5)
    spend_the_blocked_checks(lambda: log_in(client, password=WRONG_MD5))
    clock.advance(29)
    assert_wrong_login(log_in(client))
    clock.advance(1)
    assert log_in(client).status_code == 200


def test_the_count_is_shared_by_every_worker(client, make_app, limits):
    other_worker = make_app().test_client()
    for number in range(limits[0] + BLOCKED_CHECKS):
        log_in(client if number % 2 else other_worker, password=WRONG_MD5)
    assert_wrong_login(log_in(other_worker))
    assert_wrong_login(log_in(client))


def test_failed_basic_attempts_count_and_are_refused_too(client, limits, checks, auth):
    # Basic checks the same password: left open, it would be the way around the throttle.
    for number in range(limits[0]):
        if number % 2:
            assert_error(client.get(ITEMS, headers=basic("admin", "wrong")), 401, "Log In")
        else:
            assert_wrong_login(log_in(client, password=WRONG_MD5))
    spend_the_blocked_checks(lambda: assert_error(client.get(ITEMS, headers=basic("admin", "wrong")), 401, "Log In"))
    checked = len(checks)
    assert checked == limits[0] + BLOCKED_CHECKS
    assert_error(client.get(ITEMS, headers=basic("admin", "123456")), 401, "Log In")
    assert_wrong_login(log_in(client))
    assert len(checks) == checked
    # A token from before keeps working: it proves the password was known.
    assert client.get(ITEMS, headers=auth).status_code == 200


def test_no_secret_reaches_the_log(app, client, repo, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger=app.logger.name)
    password, wrong = "Tr0ub4dor&3", "correct horse"
    md5s = {plain: md5(plain) for plain in (password, wrong)}
    repo.access.set_account("admin", generate_password_hash(md5s[password], "pbkdf2:sha256:1"))  # quick to check
    secrets = {password, wrong}
    for plain in (password, wrong):
        secrets |= {md5s[plain], md5s[plain].upper(), base64.b64encode(f"admin:{plain}".encode()).decode()}

    token = log_in(client, password=md5s[password].upper()).get_json()["token"]
    secrets.add(token)
    client.get(ITEMS, headers=bearer(token))
    client.get(ITEMS, headers=bearer(token[:-1] + "x"))
    client.get(ITEMS, headers=basic("admin", password))
    for _ in range(10):  # until throttled (the default), and once more
        log_in(client, password=md5s[wrong])
        client.get(ITEMS, headers=basic("admin", wrong))
        log_in(client, username=password, password=md5s[password])  # the password typed as the username
    log_in(client, password=md5s[password])
    log_in(client, username=password, password=md5s[password])

    assert "refused unchecked" in caplog.text  # the throttling was logged
    assert "for another username from 127.0.0.1 within" in caplog.text
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert [secret for secret in secrets if secret in logged] == []


# -- the slow hash rationed per address -----------------------------------------------------------


def address_counts(repo):
    db = repo.database.connection
    return db.execute("SELECT address, failures, window_start FROM address_failures ORDER BY address").fetchall()


@pytest.fixture
def rationed_app(make_app):
    """An app that rations an address after 5 failed password checks within 60 s."""
    return make_app(LOGIN_ADDRESS_MAX_FAILURES=5, LOGIN_ADDRESS_WINDOW_SECONDS=60)


def fail_with_fresh_usernames(client, count, address="127.0.0.1", first=0):
    """`count` failed password checks from `address`, each with a username never used before,
    half logins, half Basic: a fresh username never meets the block of one username."""
    for number in range(first, first + count):
        if number % 2:
            response = client.get(
                ITEMS, headers=basic(f"guess{number}", "wrong"), environ_overrides={"REMOTE_ADDR": address}
            )
            assert_error(response, 401, "Log In")
        else:
            assert_wrong_login(
                log_in(
                    client, username=f"guess{number}", password=WRONG_MD5, environ_overrides={"REMOTE_ADDR": address}
                )
            )


def seen(response):
    """What a client sees of an answer, the headers that tell a wrong password too."""
    return response.status_code, response.get_data(), response.headers.get("WWW-Authenticate")


def test_failed_checks_from_one_address_ration_its_password_checks(rationed_app, repo, checks, clock, caplog):
    client, start = rationed_app.test_client(), clock.now
    wrong_basic = seen(client.get(ITEMS, headers=basic("admin", "wrong")))
    wrong_login = seen(log_in(client, password=WRONG_MD5))
    fail_with_fresh_usernames(client, 2, first=2)
    clock.advance(10)
    fail_with_fresh_usernames(client, 1, first=4)
    assert len(checks) == 5
    assert address_counts(repo) == [("127.0.0.1", 5, start)]
    assert (
        "5 failed attempts from 127.0.0.1 within 60 s, whatever the usernames: its password checks are refused"
        f" unchecked until {local(start + 60)}"
    ) in caplog.text
    # From there on no password is checked from that address, the right one neither, whatever the
    # username (the account's too: its name is not told apart by how fast the answer comes); the
    # answers are those of a wrong password.
    assert seen(log_in(client)) == wrong_login
    assert seen(client.get(ITEMS, headers=basic("admin", "123456"))) == wrong_basic
    assert_error(client.get(ITEMS, headers=basic("admin", "123456")), 401, "Log In")
    fail_with_fresh_usernames(client, 3, first=5)
    assert len(checks) == 5
    assert address_counts(repo) == [("127.0.0.1", 5, start)]  # refused attempts do not count
    assert (
        f"attempt for username 'admin' from 127.0.0.1 refused unchecked: its address is rationed until"
        f" {local(start + 60)} (50 s more)"
    ) in caplog.text
    assert "attempt for another username from 127.0.0.1 refused unchecked: its address is rationed" in caplog.text
    # Until the window ends.
    clock.advance(49)
    assert_wrong_login(log_in(client))
    clock.advance(1)
    assert log_in(client).status_code == 200
    assert len(checks) == 6


def test_rationing_is_for_one_address(rationed_app, repo, checks):
    client = rationed_app.test_client()
    fail_with_fresh_usernames(client, 5)
    response = log_in(client, environ_overrides={"REMOTE_ADDR": "10.0.0.2"})
    assert response.status_code == 200
    assert len(checks) == 6
    fail_with_fresh_usernames(client, 1, address="10.0.0.2")
    assert [(address, failures) for address, failures, _ in address_counts(repo)] == [("10.0.0.2", 1), ("127.0.0.1", 5)]


def test_an_ipv6_client_is_rationed_by_its_64(rationed_app, repo, checks, caplog, clock):
    client = rationed_app.test_client()
    for number in range(5):  # each attempt from another address of one /64
        fail_with_fresh_usernames(client, 1, address=f"2001:db8:1:2::{number + 1}", first=number)
    assert address_counts(repo) == [("2001:db8:1:2::/64", 5, clock.now)]
    assert (
        f"5 failed attempts from 2001:db8:1:2::/64 within 60 s, whatever the usernames: its password checks are"
        f" refused unchecked until {local(clock.now + 60)}"
    ) in caplog.text
    assert_wrong_login(log_in(client, "root", environ_overrides={"REMOTE_ADDR": "2001:db8:1:2:ffff:ffff:ffff:ffff"}))
    assert log_in(client, environ_overrides={"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 200
    assert len(checks) == 6


def test_tokens_and_basic_verified_lately_keep_working_from_a_rationed_address(rationed_app, auth, checks):
    client = rationed_app.test_client()
    known = basic("admin", "123456")
    assert client.get(ITEMS, headers=known).status_code == 200  # verified once: remembered a while
    checked = len(checks)
    fail_with_fresh_usernames(client, 5)
    assert_wrong_login(log_in(client, username="root"))
    push = client.post(LINK_ITEMS, json={"list_items": [item(1, 101, "101")]}, headers=auth)
    assert_json(push, 200, result((1, "created")))
    push = client.post(LINK_ITEMS, json={"list_items": [item(2, 102, "102")]}, headers=known)
    assert_json(push, 200, result((2, "created")))
    assert len(checks) == checked + 5  # the five failures alone were checked


def test_the_address_count_is_shared_by_every_worker(rationed_app, make_app, checks):
    client = rationed_app.test_client()
    other_worker = make_app(LOGIN_ADDRESS_MAX_FAILURES=5, LOGIN_ADDRESS_WINDOW_SECONDS=60).test_client()
    fail_with_fresh_usernames(client, 3)
    fail_with_fresh_usernames(other_worker, 2, first=3)
    assert_wrong_login(log_in(client, username="root"))
    assert_wrong_login(log_in(other_worker, username="root"))
    assert len(checks) == 5


def test_a_window_that_ended_starts_a_new_count(rationed_app, repo, clock):
    client = rationed_app.test_client()
    fail_with_fresh_usernames(client, 4)
    clock.advance(60)
    fail_with_fresh_usernames(client, 4, first=4)
    assert address_counts(repo) == [("127.0.0.1", 4, clock.now)]
    assert log_in(client).status_code == 200


def test_rationing_waits_for_more_failures_by_default(client, app, checks):
    max_failures = app.config["LOGIN_ADDRESS_MAX_FAILURES"]
    assert (max_failures, app.config["LOGIN_ADDRESS_WINDOW_SECONDS"]) == (30, 300)
    fail_with_fresh_usernames(client, max_failures - 1)
    assert_wrong_login(log_in(client, username="root"))  # checked still: the last failure that counts
    assert len(checks) == max_failures
    assert_wrong_login(log_in(client, username="root"))
    fail_with_fresh_usernames(client, 1, first=max_failures)
    assert len(checks) == max_failures


def test_a_database_from_before_gets_the_count(db_path, make_app, checks):
    with closing(sqlite3.connect(db_path)) as old:
        old.execute("DROP TABLE address_failures")
        old.execute("PRAGMA user_version = 1")  # the table came within schema 1
    client = make_app(LOGIN_ADDRESS_MAX_FAILURES=5).test_client()
    fail_with_fresh_usernames(client, 5)
    assert_wrong_login(log_in(client, username="root"))
    assert len(checks) == 5
