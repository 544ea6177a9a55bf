"""Passwords and tokens: what is stored, and how a secret the client sends is checked.

The login sends the MD5 hex digest of the password, and HTTP Basic sends the password itself,
so the one thing both can be checked against is a slow salted hash of that MD5 digest.
"""

import hashlib
import uuid

from werkzeug.security import check_password_hash, generate_password_hash

DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "123456"  # the panel's factory default


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
