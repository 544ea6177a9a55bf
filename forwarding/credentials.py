"""Passwords and tokens: what is stored, and how a secret the client sends is checked.

The login sends the MD5 hex digest of the password, and HTTP Basic sends the password itself,
so the one thing both can be checked against is a slow salted hash of that MD5 digest.
"""

import hashlib
import uuid

from werkzeug.security import check_password_hash, generate_password_hash

DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "123456"  # the panel's factory default
MIN_PASSWORD_LENGTH = 8


def password_problem(password):
    """Why `password` may not be the account's new password, or None."""
    if password == DEFAULT_PASSWORD:
        return "that is the factory password, which everyone knows: choose another"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must be at least {MIN_PASSWORD_LENGTH} characters long (this one has {len(password)})"
    return None


def username_problem(username):
    """Why `username` may not be the account's name, or None."""
    if not username:
        return "the username must not be empty"
    if ":" in username or not username.isprintable():
        # HTTP Basic ends the username at the first colon.
        return "the username must not contain a colon or control characters"
    return None


def md5_hex(password):
    return hashlib.md5(password.encode("utf-8")).hexdigest()


def hash_password(password):
    return generate_password_hash(md5_hex(password))


def digest_matches(password_hash, md5_digest):
    """True when `md5_digest` (either case) is the MD5 of the stored password; constant time."""
    return check_password_hash(password_hash, md5_digest.lower())


def new_token():
    return str(uuid.uuid4())


def token_digest(token):
    # A UUID4 has 122 random bits: a fast hash is enough to keep a stolen database from holding
    # usable tokens.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
