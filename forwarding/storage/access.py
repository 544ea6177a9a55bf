"""The access records: the account, the login tokens, and the failed logins that throttle.py counts."""

import json
from typing import NamedTuple


class Account(NamedTuple):
    username: str
    password_hash: str
    is_default: bool  # the factory password is in use


class LoginFailure(NamedTuple):
    failures: int  # failed attempts since window_start; while blocked, checks since window_start
    window_start: float  # while blocked, the start of the hour of the allowance (throttle.py)
    blocked_until: float  # 0: not blocked


class Access:
    """The access records in `database` (a database.Database)."""

    def __init__(self, database):
        self.database = database
        self._read = database.connection.execute  # a statement outside a transaction

    # -- tokens ------------------------------------------------------------------------------

    def add_token(self, digest, expires_at, now):
        """Store a token's digest, and drop the tokens that have expired by `now`."""
        with self.database.transaction() as db:
            db.execute("DELETE FROM tokens WHERE expires_at <= ?", (now,))
            db.execute("INSERT INTO tokens (digest, expires_at) VALUES (?, ?)", (digest, expires_at))

    def token_owner(self, digest, now):
        """The account's username if the token with this digest is valid at `now`, else None."""
        row = self._read(
            "SELECT account.username FROM tokens, account WHERE tokens.digest = ? AND tokens.expires_at > ?",
            (digest, now),
        ).fetchone()
        return None if row is None else row[0]

    def revoke_tokens(self):
        """Delete every token (every client must log in again); how many there were."""
        with self.database.transaction() as db:
            return db.execute("DELETE FROM tokens").rowcount

    # -- Basic credentials verified lately (auth.py) ---------------------------------------------

    def add_verified(self, digest, expires_at, now):
        """Record credentials verified until `expires_at`, and drop those that expired by `now`."""
        with self.database.transaction() as db:
            db.execute("DELETE FROM verified_credentials WHERE expires_at <= ?", (now,))
            db.execute(
                "INSERT OR REPLACE INTO verified_credentials (digest, expires_at) VALUES (?, ?)", (digest, expires_at)
            )

    def verified_until(self, digest, now):
        """Until when the credentials of `digest` stay verified, if they still are at `now`; else None."""
        row = self._read(
            "SELECT expires_at FROM verified_credentials WHERE digest = ? AND expires_at > ?", (digest, now)
        ).fetchone()
        return None if row is None else row[0]

    # -- failed logins (throttle.py) ------------------------------------------------------------

    def login_failure(self, key):
        """The LoginFailure of `key`, None without failures."""
        row = self._read("SELECT failures, window_start, blocked_until FROM login_failures WHERE key = ?", (key,))
        row = row.fetchone()
        return None if row is None else LoginFailure(*row)

    def take_blocked_check(self, key, now, allowance, period_seconds):
        """Count a check of blocked `key` at `now`, unless `allowance` checks were counted in its
        period, which starts at the block and anew `period_seconds` after: whether it was counted."""
        with self.database.transaction() as db:
            return (
                db.execute(
                    "UPDATE login_failures SET"
                    " failures = CASE WHEN window_start + :period <= :now THEN 1 ELSE failures + 1 END,"
                    " window_start = CASE WHEN window_start + :period <= :now THEN :now ELSE window_start END"
                    " WHERE key = :key AND blocked_until > :now"
                    " AND (failures < :allowance OR window_start + :period <= :now)",
                    {"key": key, "now": now, "allowance": allowance, "period": period_seconds},
                ).rowcount
                == 1
            )

    def add_login_failure(self, key, address, now, max_failures, window_seconds, block_seconds):
        """Count a failed attempt for `key`, from `address`; True when it is the `max_failures`th within
        `window_seconds`, which blocks `key` for `block_seconds` and starts its count afresh.

        Blocks that have ended, and counts whose window has, are dropped first, so an old count
        never adds to a new one and the table keeps only the recent.
        """
        with self.database.transaction() as db:
            db.execute(
                "DELETE FROM login_failures"
                " WHERE blocked_until <= :now AND (blocked_until > 0 OR window_start <= :start)",
                {"now": now, "start": now - window_seconds},
            )
            (failures,) = db.execute(
                "INSERT INTO login_failures (key, failures, window_start, blocked_until, address)"
                " VALUES (?, 1, ?, 0, ?)"
                " ON CONFLICT (key) DO UPDATE SET failures = failures + 1 RETURNING failures",
                (key, now, address),
            ).fetchone()
            if failures < max_failures:
                return False
            db.execute(
                "UPDATE login_failures SET failures = 0, window_start = ?, blocked_until = ? WHERE key = ?",
                (now, now + block_seconds, key),
            )
            return True

    def clear_login_failures(self, key):
        with self.database.transaction() as db:
            db.execute("DELETE FROM login_failures WHERE key = ?", (key,))

    def rationed_until(self, address, now, max_failures, window_seconds):
        """When the window of `address` ends, if it has `max_failures` failures in it by `now`; else None."""
        row = self._read(
            "SELECT window_start + :window FROM address_failures"
            " WHERE address = :address AND failures >= :max_failures AND window_start + :window > :now",
            {"window": window_seconds, "address": address, "max_failures": max_failures, "now": now},
        ).fetchone()
        return None if row is None else row[0]

    def add_address_failure(self, address, now, max_failures, window_seconds):
        """Count a failed password check from `address` in its window, which starts at its first
        failure; when it is the `max_failures`th, the time the window ends, else None. Windows
        that have ended are dropped first."""
        with self.database.transaction() as db:
            db.execute("DELETE FROM address_failures WHERE window_start <= ?", (now - window_seconds,))
            failures, window_start = db.execute(
                "INSERT INTO address_failures (address, failures, window_start) VALUES (?, 1, ?)"
                " ON CONFLICT (address) DO UPDATE SET failures = failures + 1 RETURNING failures, window_start",
                (address, now),
            ).fetchone()
            return window_start + window_seconds if failures == max_failures else None

    def login_blocks(self, now):
        """The blocks in force at `now`, by address: `(address, last blocked_until, how many
        usernames)` in address order; the address is None for a block recorded without one."""
        return self._read(
            "SELECT address, max(blocked_until), count(*) FROM login_failures WHERE blocked_until > ?"
            " GROUP BY address ORDER BY address",
            (now,),
        ).fetchall()

    def login_failure_addresses(self):
        return [address for (address,) in self._read("SELECT DISTINCT address FROM login_failures")]

    def lift_login_blocks(self, now, address=None, keys=None):
        """Forget the failed attempts (blocks and counts) from `address`, or of `keys`, or all of
        them when both are None; how many blocks in force at `now` that lifted."""
        where, parameters = "1", ()
        if address is not None:
            where, parameters = "address = ?", (address,)
        elif keys is not None:
            where, parameters = "key IN (SELECT value FROM json_each(?))", (json.dumps(list(keys)),)
        with self.database.transaction() as db:
            (lifted,) = db.execute(
                f"SELECT count(*) FROM login_failures WHERE blocked_until > ? AND {where}", (now, *parameters)
            ).fetchone()
            db.execute(f"DELETE FROM login_failures WHERE {where}", parameters)
            return lifted

    def rationed_addresses(self, now, max_failures, window_seconds):
        """`(address, until)` of the addresses rationed at `now`, in address order."""
        return self._read(
            "SELECT address, window_start + :window FROM address_failures"
            " WHERE failures >= :max_failures AND window_start + :window > :now ORDER BY address",
            {"window": window_seconds, "max_failures": max_failures, "now": now},
        ).fetchall()

    def lift_rationing(self, now, max_failures, window_seconds, address=None):
        """Forget the failed checks counted for `address`, or for every address; how many
        addresses that were rationed at `now` that lifted."""
        where, parameters = ("1", {}) if address is None else ("address = :address", {"address": address})
        values = {"window": window_seconds, "max_failures": max_failures, "now": now, **parameters}
        with self.database.transaction() as db:
            (lifted,) = db.execute(
                "SELECT count(*) FROM address_failures"
                f" WHERE failures >= :max_failures AND window_start + :window > :now AND {where}",
                values,
            ).fetchone()
            db.execute(f"DELETE FROM address_failures WHERE {where}", parameters)
            return lifted

    # -- the account ---------------------------------------------------------------------------

    def account(self):
        row = self._read("SELECT username, password_hash, is_default FROM account").fetchone()
        return None if row is None else Account(row[0], row[1], bool(row[2]))

    def set_account(self, username, password_hash, is_default=False):
        """Set the account, and revoke every token with it: one issued under the old password
        must not outlive it; the Basic credentials verified lately go too. How many tokens that revoked."""
        with self.database.transaction() as db:
            db.execute("DELETE FROM verified_credentials")
            db.execute(
                "INSERT OR REPLACE INTO account (id, username, password_hash, is_default) VALUES (1, ?, ?, ?)",
                (username, password_hash, int(is_default)),
            )
            return db.execute("DELETE FROM tokens").rowcount
