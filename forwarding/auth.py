"""Who may call the API: a token from the login, or HTTP Basic on every call."""

import contextlib
import functools
import hmac
import json
import os
import time

from flask import current_app, request
from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth, MultiAuth

from . import clientaddress, credentials, messages, slots, throttle
from .db import get_access
from .storage.database import PASSWORD_CHECK_SLOTS_SUFFIX


class _AnyCaseScheme:
    # MultiAuth picks the scheme case-sensitively; clients send `bearer` and `basic` too.
    def is_compatible_auth(self, headers):
        scheme = headers.get("Authorization", "").split(None, 1)
        return bool(scheme) and scheme[0].lower() == self.scheme.lower()


class _TokenAuth(_AnyCaseScheme, HTTPTokenAuth):
    pass


class _BasicAuth(_AnyCaseScheme, HTTPBasicAuth):
    pass


class _MultiAuth(MultiAuth):
    """MultiAuth, with the view behind each scheme's check made once: MultiAuth makes it anew on
    every request, for the scheme it picks. Only `login_required(view)`: no role, nothing optional."""

    def login_required(self, f):
        main, *others = [(scheme, scheme.login_required(f)) for scheme in (self.main_auth, *self.additional_auths)]

        @functools.wraps(f)
        def decorated(*args, **kwargs):
            headers = request.headers
            if not main[0].is_compatible_auth(headers):
                for scheme, view in others:
                    if scheme.is_compatible_auth(headers):
                        return view(*args, **kwargs)
            return main[1](*args, **kwargs)

        return decorated


token_auth = _TokenAuth("Bearer")
basic_auth = _BasicAuth()
auth = _MultiAuth(token_auth, basic_auth)


class _RecentlyVerified:
    """Basic credentials that passed the slow hash lately, so the next requests skip it, on every
    worker: each process remembers its own, and the database's table those of every worker.

    Entries are keyed by an HMAC of the credentials under a key made when this module is imported
    and kept in memory only, so nothing here or in the table can be turned back into a password,
    nor used to test a guess quickly. uWSGI's master imports this module before it forks the
    workers (wsgi.ini, forwarding/startcheck.py), so every worker has the same key; a process
    that is not forked from it (the tests, `flask run`) has a key of its own. The stored hash is
    part of the message, so a password change takes effect at once.
    """

    MAX_ENTRIES = 1024

    def __init__(self):
        self._key = os.urandom(32)
        self._until = {}

    def _id(self, username, password, password_hash):
        # JSON keeps the parts apart: a NUL or any separator inside a part cannot shift them.
        message = json.dumps([username, password, password_hash]).encode("ascii")
        return hmac.digest(self._key, message, "sha256")

    def holds(self, access, credentials_and_hash, seconds):
        """Were these credentials verified lately? Used in the second half of their `seconds`, they
        are remembered `seconds` more: a client in use never waits for a free password check
        slot again, nor is refused for want of one (_password_check_slot)."""
        digest = self._id(*credentials_and_hash)
        left = self._until.get(digest, 0) - time.monotonic()
        if left <= 0:
            # Verified by another worker, maybe.
            now = time.time()
            shared_until = access.verified_until(digest, now)
            if shared_until is None:
                return False
            left = shared_until - now
            self._remember(digest, left)
        if left < seconds / 2:
            self._add(access, digest, seconds)
        return True

    def add(self, access, credentials_and_hash, seconds):
        self._add(access, self._id(*credentials_and_hash), seconds)

    def _add(self, access, digest, seconds):
        if seconds <= 0:
            return
        self._remember(digest, seconds)
        now = time.time()
        access.add_verified(digest, now + seconds, now)

    def _remember(self, digest, seconds):
        if len(self._until) >= self.MAX_ENTRIES:
            self._until.clear()
        self._until[digest] = time.monotonic() + seconds

    def clear(self):
        """Forget what this process remembers (the table stays)."""
        self._until.clear()


_recently_verified = _RecentlyVerified()


def _account_matches(account, username, md5_digest):
    # Both checks run whatever the first says, so the answer's timing tells nothing.
    name_ok = hmac.compare_digest(username.encode("utf-8", "surrogatepass"), account.username.encode("utf-8"))
    password_ok = credentials.digest_matches(account.password_hash, md5_digest)
    return name_ok and password_ok


@basic_auth.verify_password
def verify_password(username, password):
    if not username:
        return None
    access = get_access()
    account = access.account()
    key = (username, password, account.password_hash)
    seconds = current_app.config["BASIC_AUTH_CACHE_SECONDS"]
    verified = _recently_verified.holds(access, key, seconds)
    if not _checked(username, lambda: _account_matches(account, username, credentials.md5_hex(password)), verified):
        return None
    if not verified:  # remembered once the slot of the check is free again
        _recently_verified.add(access, key, seconds)
    return account.username


@token_auth.verify_token
def verify_token(token):
    return get_access().token_owner(credentials.token_digest(token), time.time())


def _log_in_first(status):
    return {"error": messages.LOG_IN}, 401


token_auth.error_handler(_log_in_first)
basic_auth.error_handler(_log_in_first)


def log_in(username, md5_digest):
    """A new token when `md5_digest` is the MD5 hex of the account's password, else None."""
    access = get_access()
    if not _checked(username, lambda: _account_matches(access.account(), username, md5_digest)):
        return None
    token = credentials.new_token()
    now = time.time()
    access.add_token(credentials.token_digest(token), now + current_app.config["TOKEN_LIFETIME"], now)
    return token


# -- throttling (throttle.py): the caller's address, the app's limits, and the log --------------


def _checked(username, check, verified=False):
    """`check()`, the password check, unless the service's password checks are all in progress
    (_password_check_slot), or throttle.py refuses it for `username` from the caller's address: then
    False without calling it. A failure counts; a success clears."""
    # A slot first: under a flood most attempts find none, and are refused before any query.
    with contextlib.nullcontext(True) if verified else _password_check_slot() as free:
        if not free:
            message = "attempt for %s refused unchecked: all %d password check slots in use"
            current_app.logger.info(message, _who(username), current_app.config["PASSWORD_CHECKS"])
            return False
        access, now = get_access(), time.time()
        address = clientaddress.client_network(request.remote_addr)  # an IPv6 client by its /64
        limits = throttle.Limits.of(current_app.config)
        decision = throttle.decide(access, limits, username, address, now, verified)
        if decision.refused:
            _log_refused(username, decision.refused, decision.until, now)
            return False
        if decision.blocked_check and not verified and not throttle.take_blocked_check(access, username, address, now):
            _log_refused(username, throttle.THROTTLED, decision.until, now)  # another took the hour's last
            return False
        passed = verified or check()
    if not passed:
        _failed(access, limits, username, address, now, decision)
        return False
    throttle.succeeded(access, username, address, decision)
    return True


def _password_check_slot():
    """One of the PASSWORD_CHECKS slot files beside the database (slots.py), tried without waiting:
    a worker that waited for one would be a worker a flood holds. Yields whether it was free."""
    return slots.of_app(current_app, PASSWORD_CHECK_SLOTS_SUFFIX, "PASSWORD_CHECKS").try_take()


def _log_refused(username, refused, until, now):
    why = "throttled" if refused == throttle.THROTTLED else "its address is rationed"
    message = "attempt for %s refused unchecked: %s until %s (%d s more)"
    current_app.logger.info(message, _who(username), why, throttle.local_time(until), until - now)


def _failed(access, limits, username, address, now, decision):
    blocked_until, rationed_until = throttle.failed(access, limits, username, address, now, decision)
    if blocked_until is not None:
        message = "%d failed attempts for %s within %d s: its attempts are refused unchecked until %s (%d s)"
        until = throttle.local_time(blocked_until)
        current_app.logger.warning(
            message, limits.max_failures, _who(username), limits.window_seconds, until, limits.block_seconds
        )
    if rationed_until is not None:
        message = (
            "%d failed attempts from %s within %d s, whatever the usernames: its password checks are refused"
            " unchecked until %s"
        )
        window, until = limits.address_window_seconds, throttle.local_time(rationed_until)
        current_app.logger.warning(message, limits.address_max_failures, address, window, until)


def _who(username):
    # What is typed as a username is sometimes the password: only the account's name is logged.
    name = f"username {username!r}" if username == get_access().account().username else "another username"
    return f"{name} from {request.remote_addr}"
