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

A plain policy: the username, the address, the time and the limits in, a decision out, against the
access records (storage/access.py). auth.py asks it, and logs what it decides.
"""

import datetime
import hashlib
from typing import NamedTuple

THROTTLED = "throttled"  # the username, from this address
RATIONED = "rationed"  # the address, whatever the username


class Limits(NamedTuple):
    """The settings of the same names, `LOGIN_<NAME>`."""

    max_failures: int  # for one username from one address, within window_seconds
    window_seconds: int
    block_seconds: int
    address_max_failures: int  # from one address, whatever the usernames, within address_window_seconds
    address_window_seconds: int

    @classmethod
    def of(cls, config):
        return cls(*(config[f"LOGIN_{name.upper()}"] for name in cls._fields))


class Decision(NamedTuple):
    refused: str | None  # THROTTLED or RATIONED until `until`; None: the password may be checked
    until: float | None
    counted: bool  # the username has failures on record, which a success clears


def key(username, address):
    # A digest: a key of one size however long the username, and no typed name kept.
    who = f"{username}\0{address}"
    return hashlib.sha256(who.encode("utf-8", "surrogatepass")).hexdigest()


def local_time(timestamp):
    """`timestamp` as the log and the operator's commands show it: local time with its offset."""
    return datetime.datetime.fromtimestamp(timestamp).astimezone().isoformat(" ", "seconds")


def decide(access, limits, username, address, now, verified=False):
    """May a password for `username` from `address` be checked at `now`? Not while the username
    is throttled from the address, nor, unless the credentials were `verified` lately, while the
    address is rationed."""
    blocked_until = access.blocked_until(key(username, address))
    if blocked_until is not None and blocked_until > now:
        return Decision(THROTTLED, blocked_until, True)
    if not verified:
        until = access.rationed_until(address or "", now, limits.address_max_failures, limits.address_window_seconds)
        if until is not None:
            return Decision(RATIONED, until, blocked_until is not None)
    return Decision(None, None, blocked_until is not None)


def failed(access, limits, username, address, now):
    """Count a failed check for the username and for the address: `(blocked_until,
    rationed_until)`, each None unless this failure starts it."""
    who, (max_failures, window, block, address_max_failures, address_window) = key(username, address), limits
    blocked = access.add_login_failure(who, address, now, max_failures, window, block)
    rationed_until = access.add_address_failure(address or "", now, address_max_failures, address_window)
    return now + block if blocked else None, rationed_until


def succeeded(access, username, address, decision):
    """A check passed: the username's count, if it had one, starts afresh."""
    if decision.counted:
        access.clear_login_failures(key(username, address))
