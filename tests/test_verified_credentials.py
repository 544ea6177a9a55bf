"""Basic credentials verified lately pass on every worker without a password check: each process
remembers its own, and the database's table those of all, keyed by an HMAC under a key only the
processes forked from one master share (forwarding/auth.py)."""

import hashlib
import hmac
import json
import os

import pytest

from forwarding import auth
from tests.helpers import ITEMS, MD5_123456, assert_error, basic
from tests.test_check_slots import held

KNOWN = basic("admin", "123456")


def rows(repo):
    return repo.database.connection.execute("SELECT digest, expires_at FROM verified_credentials").fetchall()


def another_worker(make_app):
    """A new app on the same database, with nothing remembered in its process: a worker forked from
    the same master (same key) that never checked these credentials."""
    app = make_app()
    auth._recently_verified.clear()
    return app.test_client()


def test_verified_on_one_worker_passes_on_another_unchecked(client, make_app, db_path, repo, checks, clock):
    assert client.get(ITEMS, headers=KNOWN).status_code == 200
    assert len(checks) == 1
    [(digest, expires_at)] = rows(repo)
    assert (len(digest), expires_at) == (32, clock.now + 60)
    other = another_worker(make_app)
    with held(db_path + "-hash.0"):  # a password check now would be refused
        assert other.get(ITEMS, headers=KNOWN).status_code == 200
    assert len(checks) == 1
    assert rows(repo) == [(digest, expires_at)]


def test_the_table_holds_no_password_nor_anything_that_checks_one_without_the_key(client, repo):
    assert client.get(ITEMS, headers=KNOWN).status_code == 200
    dump = "\n".join(repo.database.connection.iterdump())
    assert "123456" not in dump and MD5_123456 not in dump
    [(digest, _)] = rows(repo)
    [(password_hash,)] = repo.database.connection.execute("SELECT password_hash FROM account").fetchall()
    message = json.dumps(["admin", "123456", password_hash]).encode()
    assert digest not in (hashlib.sha256(message).digest(), hmac.digest(b"", message, "sha256"))


def test_it_expires_and_expired_rows_go_with_the_next_write(client, make_app, db_path, repo, checks, clock):
    assert client.get(ITEMS, headers=KNOWN).status_code == 200
    [(first, _)] = rows(repo)
    clock.advance(60)
    other = another_worker(make_app)
    with held(db_path + "-hash.0"):
        assert_error(other.get(ITEMS, headers=KNOWN), 401, "Log In")  # no longer verified: refused unchecked
    assert len(checks) == 1
    assert other.get(ITEMS, headers=basic("admin", "654321x")).status_code == 401
    assert other.get(ITEMS, headers=KNOWN).status_code == 200  # checked again, and remembered anew
    assert len(checks) == 3
    [(second, expires_at)] = rows(repo)
    assert (second, expires_at) == (first, clock.now + 60)


def test_a_password_change_invalidates_it(client, make_app, db_path, repo, runner, checks):
    assert client.get(ITEMS, headers=KNOWN).status_code == 200
    assert runner.invoke(args=["set-password", "--password", "a-new-password"]).exit_code == 0
    assert rows(repo) == []
    other = another_worker(make_app)
    assert_error(other.get(ITEMS, headers=KNOWN), 401, "Log In")
    assert other.get(ITEMS, headers=basic("admin", "a-new-password")).status_code == 200
    assert len(checks) == 3


def test_a_stored_hash_changed_behind_its_back_invalidates_it_too(client, make_app, repo, checks):
    # The hash is in the HMAC's message: an entry made under another hash never matches.
    assert client.get(ITEMS, headers=KNOWN).status_code == 200
    repo.database.connection.execute("UPDATE account SET password_hash = password_hash || 'x'")
    assert_error(client.get(ITEMS, headers=KNOWN), 401, "Log In")
    assert len(checks) == 2


def test_a_process_with_a_key_of_its_own_does_not_see_it(client, make_app, db_path, monkeypatch, checks):
    assert client.get(ITEMS, headers=KNOWN).status_code == 200
    monkeypatch.setattr(auth, "_recently_verified", auth._RecentlyVerified())  # not forked from the same master
    other = make_app().test_client()
    with held(db_path + "-hash.0"):
        assert_error(other.get(ITEMS, headers=KNOWN), 401, "Log In")
    assert len(checks) == 1


def test_no_cache_records_nothing(make_app, repo, checks):
    client = make_app(BASIC_AUTH_CACHE_SECONDS=0).test_client()
    assert client.get(ITEMS, headers=KNOWN).status_code == 200
    assert client.get(ITEMS, headers=KNOWN).status_code == 200
    assert (len(checks), rows(repo)) == (2, [])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_shares_the_key(client, make_app, db_path, checks):
    # As uWSGI's workers are forked from the master that imported forwarding.auth.
    assert client.get(ITEMS, headers=KNOWN).status_code == 200
    with held(db_path + "-hash.0"):
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports by its exit status alone
            try:
                status = another_worker(make_app).get(ITEMS, headers=KNOWN).status_code
                os._exit(0 if status == 200 and len(checks) == 1 else 1)
            finally:
                os._exit(2)
        _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_used_in_the_second_half_of_its_minute_it_is_remembered_a_minute_more(
    client, make_app, db_path, repo, checks, clock
):
    start = clock.now
    assert client.get(ITEMS, headers=KNOWN).status_code == 200
    clock.advance(20)
    assert another_worker(make_app).get(ITEMS, headers=KNOWN).status_code == 200
    assert [expires_at for _, expires_at in rows(repo)] == [start + 60]  # the first half: as it was
    clock.advance(15)
    assert another_worker(make_app).get(ITEMS, headers=KNOWN).status_code == 200
    assert [expires_at for _, expires_at in rows(repo)] == [start + 95]
    clock.advance(50)  # past the first minute, within the second
    with held(db_path + "-hash.0"):
        assert another_worker(make_app).get(ITEMS, headers=KNOWN).status_code == 200
    assert len(checks) == 1
