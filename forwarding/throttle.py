"""Login throttling: after too many failed attempts for one username from one address, its next
attempts are refused unchecked for a while; after too many from one address, whatever the
usernames, every password check from it is, until its window ends.

The counts live in the database, so every worker process sees the same ones. The login and
HTTP Basic both count and are both refused: they check the same password, so throttling one
alone would leave the other open to guessing (and a client stuck on a wrong Basic password
would cost a slow hash on every call). Behind a NAT or a proxy, though, one address is many
clients, and an attacker among them would lock the others out: while a username is blocked from
an address, CHECKS_PER_BLOCKED_HOUR of its attempts an hour are still checked (a right password
gets in, and lifts the block); the attacker gets those guesses, and no more. A refused attempt
gets the answer of a wrong password, so it tells nothing. Bearer tokens do not count: they carry
no username, and 122 random bits are not guessed. The count per address rations the slow hash:
fresh usernames would each start a count of their own, and each attempt costs a tenth of a
second of CPU. Rationing holds every username alike, the account's too, for at most its window:
sparing the account's would tell its name apart by how fast the answer comes. A Basic credential
verified lately costs no hash and passes it (auth.py).
The address, an IPv6 client's /64, is kept beside each count, so that an operator can list the
blocks and lift them (`forwarding blocks`, `forwarding unblock`); the username is not.

A plain policy: the username, the address, the time and the limits in, a decision out, against the
access records (storage/access.py). auth.py asks it, and logs what it decides.
"""

import datetime
import hashlib
from typing import NamedTuple

THROTTLED = "throttled"  # the username, from this address
RATIONED = "rationed"  # the address, whatever the username

# Password checks for a username from an address that still run while it is blocked, in each
# hour from the block's start: a client behind the same NAT as an attacker still gets in.
CHECKS_PER_BLOCKED_HOUR = 3
HOUR = 3600


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
    until: float | None  # also the block's end when `blocked_check`
    counted: bool  # the username has failures on record, which a success clears
    blocked_check: bool = False  # blocked, but a check of the hour's allowance is left (take_blocked_check)


def key(username, address):
    # A digest: a key of one size however long the username, and no typed name kept.
    who = f"{username}\0{address}"
    return hashlib.sha256(who.encode("utf-8", "surrogatepass")).hexdigest()


def local_time(timestamp):
    """`timestamp` as the log and the operator's commands show it: local time with its offset."""
    return datetime.datetime.fromtimestamp(timestamp).astimezone().isoformat(" ", "seconds")


def decide(access, limits, username, address, now, verified=False):
    """May a password for `username` from `address` be checked at `now`? While the username is
    blocked from the address, only within its hour's allowance; while the address is rationed,
    only credentials `verified` lately."""
    record = access.login_failure(key(username, address))
    counted = record is not None
    blocked_check = False
    if counted and record.blocked_until > now:
        if record.failures >= CHECKS_PER_BLOCKED_HOUR and record.window_start + HOUR > now:
            return Decision(THROTTLED, record.blocked_until, True)
        blocked_check = True
    if not verified:
        until = access.rationed_until(address or "", now, limits.address_max_failures, limits.address_window_seconds)
        if until is not None:
            return Decision(RATIONED, until, counted)
    return Decision(None, record.blocked_until if blocked_check else None, counted, blocked_check)


def take_blocked_check(access, username, address, now):
    """Count a check of a blocked username's allowance (decide's `blocked_check`) before it runs:
    False when another attempt took the hour's last one first."""
    return access.take_blocked_check(key(username, address), now, CHECKS_PER_BLOCKED_HOUR, HOUR)


def failed(access, limits, username, address, now, decision):
    """Count a failed check for the username and for the address: `(blocked_until,
    rationed_until)`, each None unless this failure starts it. A check of a blocked username's
    allowance was counted as it was taken."""
    who, (max_failures, window, block, address_max_failures, address_window) = key(username, address), limits
    blocked = False
    if not decision.blocked_check:
        blocked = access.add_login_failure(who, address, now, max_failures, window, block)
    rationed_until = access.add_address_failure(address or "", now, address_max_failures, address_window)
    return now + block if blocked else None, rationed_until


def succeeded(access, username, address, decision):
    """A check passed: the username's count, if it had one, starts afresh."""
    if decision.counted:
        access.clear_login_failures(key(username, address))
