"""Login throttling: after too many failed attempts for one username from one address, its next
attempts are refused unchecked for a while.

The counts live in the database, so every worker process sees the same ones. The login and
HTTP Basic both count and are both refused: they check the same password, so throttling one
alone would leave the other open to guessing (and a client stuck on a wrong Basic password
would cost a slow hash on every call). A refused attempt gets the answer of a wrong password,
so it tells nothing. Bearer tokens do not count: they carry no username, and 122 random bits
are not guessed. The address is kept beside each count, so that an operator can list the blocks
and lift them (`forwarding blocks`, `forwarding unblock`); the username is not.
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


def checked(username, check):
    """`check()`, the password check, unless `username` is throttled from the caller's address:
    then False without calling it. A failure counts towards a block; a success clears the count."""
    config, repo, now = current_app.config, get_repo(), time.time()
    address = request.remote_addr
    who = key(username, address)
    blocked_until = repo.blocked_until(who)
    if blocked_until is not None and blocked_until > now:
        current_app.logger.info(
            "attempt for %s refused unchecked: throttled until %s (%d s more)",
            _who(username),
            local_time(blocked_until),
            blocked_until - now,
        )
        return False
    if check():
        if blocked_until is not None:
            repo.clear_login_failures(who)
        return True
    max_failures, window, block = (
        config["LOGIN_MAX_FAILURES"],
        config["LOGIN_WINDOW_SECONDS"],
        config["LOGIN_BLOCK_SECONDS"],
    )
    if repo.add_login_failure(who, address, now, max_failures, window, block):
        current_app.logger.warning(
            "%d failed attempts for %s within %d s: its attempts are refused unchecked until %s (%d s)",
            max_failures,
            _who(username),
            window,
            local_time(now + block),
            block,
        )
    return False
