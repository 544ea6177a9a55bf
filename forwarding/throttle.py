"""Login throttling: after too many failed attempts for one username from one address, its next
attempts are refused unchecked for a while; after too many from one address, whatever the
usernames, every password check from it is, until its window ends.

The counts live in the database, so every worker process sees the same ones. The login and
HTTP Basic both count and are both refused: they check the same password, so throttling one
alone would leave the other open to guessing (and a client stuck on a wrong Basic password
would cost a slow hash on every call). A refused attempt gets the answer of a wrong password,
so it tells nothing. Bearer tokens do not count: they carry no username, and 122 random bits
are not guessed. The count per address rations the slow hash: fresh usernames would each start
a count of their own, and each attempt costs a tenth of a second of CPU. A Basic credential
verified lately costs no hash and passes it (auth.py). The address is kept beside each count,
so that an operator can list the blocks and lift them (`forwarding blocks`, `forwarding
unblock`); the username is not.
"""

import datetime
import hashlib
import time

from flask import current_app, request

from .db import get_repo


def key(username, address):
    # A digest: a key of one size however long the username, and no typed name kept.
    who = f"{username}\0{address}"
    return hashlib.sha256(who.encode("utf-8", "surrogatepass")).hexdigest()


def local_time(timestamp):
    """`timestamp` as the log and the operator's commands show it: local time with its offset."""
    return datetime.datetime.fromtimestamp(timestamp).astimezone().isoformat(" ", "seconds")


def _who(username):
    # What is typed as a username is sometimes the password: only the account's name is logged.
    name = f"username {username!r}" if username == get_repo().account().username else "another username"
    return f"{name} from {request.remote_addr}"


def checked(username, check, verified=False):
    """`check()`, the password check, unless `username` is throttled from the caller's address,
    or the address is rationed and the credentials were not `verified` lately: then False
    without calling it. A failure counts towards both; a success clears the username's count."""
    repo, now = get_repo(), time.time()
    who = key(username, request.remote_addr)
    blocked_until = repo.blocked_until(who)
    if blocked_until is not None and blocked_until > now:
        current_app.logger.info(
            "attempt for %s refused unchecked: throttled until %s (%d s more)",
            _who(username),
            local_time(blocked_until),
            blocked_until - now,
        )
        return False
    if not verified:
        if _rationed(username, now):
            return False
        if not check():
            _count_failure(username, who, now)
            return False
    if blocked_until is not None:
        repo.clear_login_failures(who)
    return True


def _rationed(username, now):
    config = current_app.config
    address = request.remote_addr or ""
    until = get_repo().rationed_until(
        address, now, config["LOGIN_ADDRESS_MAX_FAILURES"], config["LOGIN_ADDRESS_WINDOW_SECONDS"]
    )
    if until is None:
        return False
    current_app.logger.info(
        "attempt for %s refused unchecked: its address is rationed until %s (%d s more)",
        _who(username),
        local_time(until),
        until - now,
    )
    return True


def _count_failure(username, who, now):
    config, repo, address = current_app.config, get_repo(), request.remote_addr
    max_failures, window = config["LOGIN_MAX_FAILURES"], config["LOGIN_WINDOW_SECONDS"]
    block = config["LOGIN_BLOCK_SECONDS"]
    if repo.add_login_failure(who, address, now, max_failures, window, block):
        current_app.logger.warning(
            "%d failed attempts for %s within %d s: its attempts are refused unchecked until %s (%d s)",
            max_failures,
            _who(username),
            window,
            local_time(now + block),
            block,
        )
    max_failures, window = config["LOGIN_ADDRESS_MAX_FAILURES"], config["LOGIN_ADDRESS_WINDOW_SECONDS"]
    until = repo.add_address_failure(address or "", now, max_failures, window)
    if until is not None:
        current_app.logger.warning(
            "%d failed attempts from %s within %d s, whatever the usernames: its password checks are refused"
            " unchecked until %s",
            max_failures,
            address,
            window,
            local_time(until),
        )
