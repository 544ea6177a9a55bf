"""Who may call the API: a token from the login, or HTTP Basic on every call."""

import hmac
import json
import os
import time

from flask import current_app
from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth, MultiAuth

from . import credentials, messages, throttle
from .db import get_repo


class _AnyCaseScheme:
    # MultiAuth picks the scheme case-sensitively; clients send `bearer` and `basic` too.
    def is_compatible_auth(self, headers):
        scheme = headers.get("Authorization", "").split(None, 1)
        return bool(scheme) and scheme[0].lower() == self.scheme.lower()


class _TokenAuth(_AnyCaseScheme, HTTPTokenAuth):
    pass


class _BasicAuth(_AnyCaseScheme, HTTPBasicAuth):
    pass


token_auth = _TokenAuth("Bearer")
basic_auth = _BasicAuth()
auth = MultiAuth(token_auth, basic_auth)


class _RecentlyVerified:
    """Basic credentials that passed the slow hash lately, so the next requests skip it.

    Entries are keyed by an HMAC of the credentials under a key made at process start, so
    nothing here can be turned back into a password; the stored hash is part of the key, so a
    password change takes effect at once.
    """

    MAX_ENTRIES = 1024

    def __init__(self):
        self._key = os.urandom(32)
        self._until = {}

    def _id(self, username, password, password_hash):
        # JSON keeps the parts apart: a NUL or any separator inside a part cannot shift them.
        message = json.dumps([username, password, password_hash]).encode("ascii")
        return hmac.digest(self._key, message, "sha256")

    def __contains__(self, credentials_and_hash):
        until = self._until.get(self._id(*credentials_and_hash))
        return until is not None and until > time.monotonic()

    def add(self, credentials_and_hash, seconds):
        if len(self._until) >= self.MAX_ENTRIES:
            self._until.clear()
        self._until[self._id(*credentials_and_hash)] = time.monotonic() + seconds


_recently_verified = _RecentlyVerified()


def _account_matches(account, username, md5_digest):
    # Both checks run whatever the first says, so the answer's timing tells nothing.
    name_ok = hmac.compare_digest(username.encode("utf-8", "surrogatepass"), account.username.encode("utf-8"))
    password_ok = credentials.digest_matches(account.password_hash, md5_digest)
    return name_ok and password_ok


def _check_basic(account, credentials_and_hash):
    username, password, _ = credentials_and_hash
    if not _account_matches(account, username, credentials.md5_hex(password)):
        return False
    _recently_verified.add(credentials_and_hash, current_app.config["BASIC_AUTH_CACHE_SECONDS"])
    return True


@basic_auth.verify_password
def verify_password(username, password):
    if not username:
        return None
    account = get_repo().account()
    key = (username, password, account.password_hash)
    if not throttle.checked(username, lambda: _check_basic(account, key), verified=key in _recently_verified):
        return None
    return account.username


@token_auth.verify_token
def verify_token(token):
    return get_repo().token_owner(credentials.token_digest(token), time.time())


def _log_in_first(status):
    return {"error": messages.LOG_IN}, 401


token_auth.error_handler(_log_in_first)
basic_auth.error_handler(_log_in_first)


def log_in(username, md5_digest):
    """A new token when `md5_digest` is the MD5 hex of the account's password, else None."""
    repo = get_repo()
    if not throttle.checked(username, lambda: _account_matches(repo.account(), username, md5_digest)):
        return None
    token = credentials.new_token()
    now = time.time()
    repo.add_token(credentials.token_digest(token), now + current_app.config["TOKEN_LIFETIME"], now)
    return token
