"""The rules, the account, the tokens and the device settings, in one SQLite file.

Plain `sqlite3`, no Flask: one `Repository` per connection (db.py keeps one per thread).
Every method that writes is one `BEGIN IMMEDIATE` transaction, so a request's changes are all
on disk when it is answered (WAL with `synchronous=FULL`), or none of them are; writers take
their turns through a lock file beside the database (writelock.py).
"""

import enum
import json
import os
import sqlite3
import time
import weakref
from contextlib import contextmanager, suppress

from .limits import HISTORY_LIMIT, INT64_MAX
from .writelock import WriteLock

SCHEMA_VERSION = 2  # 2: the history table

DATABASE_MODE = 0o660  # made so, less the umask: the service's user and group alone

WRITE_LOCK_SUFFIX = "-writer"  # the lock file beside the database (writelock.py), as SQLite's -wal

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS rules (
        forward_number INTEGER PRIMARY KEY,  -- the rowid itself: the key and the order of every list
        link_id INTEGER UNIQUE,              -- NULL for a rule that did not come from Link
        entities TEXT NOT NULL               -- forward_entity_list as a JSON array, always used whole
    )""",
    # The keys alone, in list order: a page skips the rules before it here, in a few slim index
    # pages, instead of stepping over the table's wide rows. link_id is in it so that the link
    # list skips the rules without one without reading them either.
    "CREATE INDEX IF NOT EXISTS rules_by_number ON rules (forward_number, link_id)",
    """CREATE TABLE IF NOT EXISTS tokens (
        digest TEXT PRIMARY KEY,             -- SHA-256 of the token: the token itself is never stored
        expires_at REAL NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS account (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        username TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        is_default INTEGER NOT NULL          -- 1 while the factory password is in use
    )""",
    """CREATE TABLE IF NOT EXISTS login_failures (
        key TEXT PRIMARY KEY,                -- SHA-256 of the username and the address (throttle.py)
        failures INTEGER NOT NULL,           -- failed attempts since window_start
        window_start REAL NOT NULL,
        blocked_until REAL NOT NULL,         -- attempts are refused unchecked until then
        address TEXT                         -- the address alone, for the operator (NULL: a row older than it)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS address_failures (
        address TEXT PRIMARY KEY,            -- the client's address (throttle.py)
        failures INTEGER NOT NULL,           -- failed password checks since window_start
        window_start REAL NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
    # One record per rule a transaction changed: the rule before it and after it (NULL entities
    # where there was no rule). Only the oldest records are ever deleted, so ids stay contiguous.
    """CREATE TABLE IF NOT EXISTS history (
        id INTEGER PRIMARY KEY,              -- the rowid: the order of the records
        time_ms INTEGER NOT NULL,            -- when the transaction committed, ms since the epoch (UTC)
        source TEXT NOT NULL,                -- a Source value
        request_id TEXT,                     -- NULL for the operator's commands
        forward_number INTEGER NOT NULL,
        before_link_id INTEGER,
        before_entities TEXT,
        after_link_id INTEGER,
        after_entities TEXT
    )""",
    # A filtered page reads only its rule's records, newest first (the rowid ends every index).
    "CREATE INDEX IF NOT EXISTS history_by_number ON history (forward_number)",
    "CREATE INDEX IF NOT EXISTS history_by_before_link ON history (before_link_id) WHERE before_link_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS history_by_after_link ON history (after_link_id) WHERE after_link_id IS NOT NULL",
)

# Columns added since the first schema: (table, column, definition), added to a database that
# lacks them.
ADDED_COLUMNS = (("login_failures", "address", "TEXT"),)

# The rules of a page as the API shows them, JSON made by SQLite: the entries are stored as JSON
# already, and decoding and encoding them again in Python is most of a list request's own work.
# The plain list never shows link_id.
_ITEM = {
    False: "json_object('forward_number', forward_number, 'forward_entity_list', json(entities))",
    True: "json_object('link_id', link_id, 'forward_number', forward_number, 'forward_entity_list', json(entities))",
}

# Fixed text: no SQL is ever built from input. A page is found in two steps: the key of its
# first rule, `:offset` entries into the slim index rules_by_number, then `:limit` rules from that
# key on. A page past the end has no first key (NULL), so it is empty.
LIST_COUNT = {
    False: "SELECT count(*) FROM rules",
    True: "SELECT count(*) FROM rules WHERE link_id IS NOT NULL",
}
LIST_PAGE = {
    # (linked, descending) -> the page
    (False, False): f"""SELECT {_ITEM[False]} FROM rules
        WHERE forward_number >= (SELECT forward_number FROM rules INDEXED BY rules_by_number
                                 ORDER BY forward_number LIMIT 1 OFFSET :offset)
        ORDER BY forward_number LIMIT :limit""",
    (False, True): f"""SELECT {_ITEM[False]} FROM rules
        WHERE forward_number <= (SELECT forward_number FROM rules INDEXED BY rules_by_number
                                 ORDER BY forward_number DESC LIMIT 1 OFFSET :offset)
        ORDER BY forward_number DESC LIMIT :limit""",
    (True, False): f"""SELECT {_ITEM[True]} FROM rules INDEXED BY rules_by_number
        WHERE link_id IS NOT NULL
          AND forward_number >= (SELECT forward_number FROM rules INDEXED BY rules_by_number
                                 WHERE link_id IS NOT NULL ORDER BY forward_number LIMIT 1 OFFSET :offset)
        ORDER BY forward_number LIMIT :limit""",
    (True, True): f"""SELECT {_ITEM[True]} FROM rules INDEXED BY rules_by_number
        WHERE link_id IS NOT NULL
          AND forward_number <= (SELECT forward_number FROM rules INDEXED BY rules_by_number
                                 WHERE link_id IS NOT NULL ORDER BY forward_number DESC LIMIT 1 OFFSET :offset)
        ORDER BY forward_number DESC LIMIT :limit""",
}
LIST_ONE = f"SELECT {_ITEM[True]} FROM rules WHERE link_id = ?"

# The rules a write may touch, as they were before it, kept per connection for one transaction:
# in SQLite's temporary store, so that however many and however long, they never sit in Python.
# A number without a rule before the write has NULL entities.
TOUCHED = """CREATE TEMP TABLE IF NOT EXISTS touched (
    forward_number INTEGER PRIMARY KEY,
    link_id INTEGER,
    entities TEXT
)"""
_SNAPSHOT = "INSERT OR IGNORE INTO temp.touched SELECT forward_number, link_id, entities FROM rules"
SNAPSHOT_NUMBERS = f"{_SNAPSHOT} WHERE forward_number IN (SELECT value FROM json_each(?))"
SNAPSHOT_LINK_IDS = f"{_SNAPSHOT} WHERE link_id IN (SELECT value FROM json_each(?))"
SNAPSHOT_ALL = _SNAPSHOT
SNAPSHOT_CREATED = "INSERT OR IGNORE INTO temp.touched (forward_number) SELECT forward_number FROM rules"
SNAPSHOT_ABSENT = "INSERT OR IGNORE INTO temp.touched (forward_number) SELECT value FROM json_each(?)"
# One record per touched rule whose state differs from its snapshot: the removed rules first, so
# that a link_id's move from one rule to another reads as its old rule's deletion, then the new rule.
RECORD = """INSERT INTO history (time_ms, source, request_id, forward_number, before_link_id, before_entities,
                             after_link_id, after_entities)
    SELECT :time_ms, :source, :request_id, t.forward_number, t.link_id, t.entities, r.link_id, r.entities
    FROM temp.touched AS t LEFT JOIN rules AS r ON r.forward_number = t.forward_number
    WHERE t.entities IS NOT r.entities OR t.link_id IS NOT r.link_id
    ORDER BY r.forward_number IS NOT NULL, t.forward_number"""
# Records past the newest `:keep` are pruned, perhaps a transaction late; reads never show them.
_NEWEST = "(SELECT max(id) FROM history)"
_KEPT = f"id > coalesce({_NEWEST}, 0) - :keep"
_RULE_FILTERS = {
    # (by forward_number, by link_id) -> the records' condition
    (True, False): "forward_number = :number",
    (False, True): "(before_link_id = :link_id OR after_link_id = :link_id)",
    (True, True): "forward_number = :number AND (before_link_id = :link_id OR after_link_id = :link_id)",
}
HISTORY_COUNT = {
    # Only the oldest records are ever deleted, so the ids are contiguous: the whole history's
    # count is the span of its kept ids, and a page starts `:offset` ids below the newest.
    (False, False): f"SELECT coalesce({_NEWEST} - max((SELECT min(id) FROM history) - 1, {_NEWEST} - :keep), 0)",
    **{key: f"SELECT count(*) FROM history WHERE {where} AND {_KEPT}" for key, where in _RULE_FILTERS.items()},
}
HISTORY_PAGE = {
    (False, False): f"WHERE id <= {_NEWEST} - :offset AND {_KEPT} ORDER BY id DESC LIMIT :limit",
    **{
        key: f"WHERE {where} AND {_KEPT} ORDER BY id DESC LIMIT :limit OFFSET :offset"
        for key, where in _RULE_FILTERS.items()
    },
}
HISTORY_COLUMNS = (
    "id, time_ms, source, request_id, forward_number, before_link_id, before_entities, after_link_id, after_entities"
)


class Outcome(enum.Enum):
    """What a write did to one rule it was asked about."""

    CREATED = enum.auto()
    UPDATED = enum.auto()
    DELETED = enum.auto()
    NOT_FOUND = enum.auto()


class Source(enum.Enum):
    """Which write made a change; the value is what the history stores."""

    LINK = "link"  # apply_link_items: the Link push
    ITEM = "item"  # put_rule: one rule
    DELETE = "delete"  # delete_rules
    DELETE_LINK = "delete_link"  # delete_linked_rules
    IMPORT = "import"  # import_rules: the operator's import


class Change:
    """One record of the history: a rule as it was before a transaction and after it.

    `before` and `after` are `(link_id, entities)`, or None where there was no rule.
    """

    __slots__ = ("id", "time_ms", "source", "request_id", "forward_number", "before", "after")

    def __init__(self, id_, time_ms, source, request_id, number, before_link, before, after_link, after):
        self.id = id_
        self.time_ms = time_ms
        self.source = Source(source)
        self.request_id = request_id
        self.forward_number = number
        self.before = None if before is None else (before_link, json.loads(before))
        self.after = None if after is None else (after_link, json.loads(after))

    @property
    def action(self):
        if self.before is None:
            return Outcome.CREATED
        return Outcome.DELETED if self.after is None else Outcome.UPDATED


class Account:
    __slots__ = ("username", "password_hash", "is_default")

    def __init__(self, username, password_hash, is_default):
        self.username = username
        self.password_hash = password_hash
        self.is_default = bool(is_default)


def _close(connection, write_lock):
    try:
        connection.close()
    finally:
        write_lock.close()


def _create_private(path):
    # SQLite would create a missing file 0644 less the umask, readable by every local user; its
    # -wal and -shm take the file's mode whatever the umask, and the lock file follows it too.
    # A file already there is left as it is; one that cannot be made, SQLite then says why.
    with suppress(OSError):
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, DATABASE_MODE))


class Repository:
    def __init__(self, connection, write_lock, busy_timeout, history_limit=HISTORY_LIMIT):
        self.db = connection
        self._write_lock = write_lock
        self._busy_timeout = busy_timeout
        self.history_limit = history_limit
        # A thread that ends drops the connection db.py kept for it, unclosed, and an sqlite3
        # connection dropped unclosed keeps its file open for good: a server that starts a
        # thread per request (`flask run`) would run out of files. Both close when it goes.
        self._closer = weakref.finalize(self, _close, connection, write_lock)

    @classmethod
    def connect(cls, path, busy_timeout_ms=30000, history_limit=HISTORY_LIMIT):
        _create_private(path)
        # isolation_level=None: the sqlite3 module opens no transactions; ours are explicit.
        connection = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute(TOUCHED)
        try:
            write_lock = WriteLock(path + WRITE_LOCK_SUFFIX, owner_of=path)
        except OSError as error:
            connection.close()
            raise sqlite3.OperationalError(f"unable to open the lock file {error.filename}: {error.strerror}") from None
        return cls(connection, write_lock, busy_timeout_ms / 1000, history_limit)

    def close(self):
        self._closer()

    @contextmanager
    def _transaction(self, mode="IMMEDIATE"):
        # IMMEDIATE takes SQLite's write lock up front, so a writer waits for it instead of
        # failing with "database is locked" when it upgrades a read lock. Writers of this
        # service queue for the lock file first, and then find SQLite's lock free.
        writes = mode == "IMMEDIATE"
        if writes:
            self._write_lock.acquire(self._busy_timeout)
        try:
            self.db.execute(f"BEGIN {mode}")
            try:
                yield self.db
            except BaseException:
                if self.db.in_transaction:  # SQLite may have rolled back already (a full disk)
                    self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        finally:
            if writes:
                self._write_lock.release()

    @contextmanager
    def _changing(self, source, request_id):
        """A write transaction on the rules. The caller first notes the rules it may touch
        (`_snapshot`); as it commits, within it, the history gains one record per rule whose
        state differs from its snapshot."""
        with self._transaction() as db:
            yield db
            if self.history_limit:
                values = {"time_ms": round(time.time() * 1000), "source": source.value, "request_id": request_id}
                db.execute(RECORD, values)
            db.execute("DELETE FROM temp.touched")
            self._prune(db)

    def _snapshot(self, db, numbers=(), link_ids=(), everything=False, created=False):
        """Note the rules with these forward_numbers or link_ids as they are, and the numbers
        that have no rule yet; or `everything` as it is; or, after the writes, the rules
        `created` since. Nothing when no history is kept."""
        if not self.history_limit:
            return
        if everything:
            db.execute(SNAPSHOT_ALL)
        if created:
            db.execute(SNAPSHOT_CREATED)
        if numbers:
            numbers = json.dumps(numbers)  # up to 100,000 ids: encoded once for both statements
            db.execute(SNAPSHOT_NUMBERS, (numbers,))
        if link_ids:
            db.execute(SNAPSHOT_LINK_IDS, (json.dumps(link_ids),))
        if numbers:
            db.execute(SNAPSHOT_ABSENT, (numbers,))

    def _prune(self, db):
        keep = self.history_limit
        # A range of the oldest rowids: its cost is the records this write added, whatever the
        # history's size (more once, after the limit is lowered).
        (newest,) = db.execute("SELECT max(id) FROM history").fetchone()
        if newest is not None and newest > keep:
            db.execute("DELETE FROM history WHERE id <= ?", (newest - keep,))

    def initialize(self, make_account, make_serial):
        """Create the schema if it is not there, and seed the account and the device serial.

        `make_account()` returns `(username, password_hash)` and `make_serial()` a string; each
        is called only when the database has none yet.
        """
        # A damaged file stops here, before anything is written to it.
        verdict = self.db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if verdict != "ok":
            raise sqlite3.DatabaseError("database disk image is malformed: " + verdict.replace("\n", " "))
        self._use_wal()
        with self._transaction() as db:
            for statement in SCHEMA:
                db.execute(statement)
            for table, column, definition in ADDED_COLUMNS:
                if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            if db.execute("SELECT 1 FROM account").fetchone() is None:
                db.execute(
                    "INSERT INTO account (id, username, password_hash, is_default) VALUES (1, ?, ?, 1)",
                    make_account(),
                )
            if db.execute("SELECT 1 FROM settings WHERE name = 'device_serial'").fetchone() is None:
                db.execute("INSERT INTO settings (name, value) VALUES ('device_serial', ?)", (make_serial(),))

    def _use_wal(self):
        # Workers that start together on a new file (uWSGI's lazy-apps) all switch it to WAL.
        # SQLite answers "database is locked" at once, not after the busy timeout, to one that
        # asks while another holds the write lock (waiting could deadlock): retry within it.
        deadline = time.monotonic() + self.db.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
        while True:
            try:
                self.db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
            time.sleep(0.01)

    # -- rules -------------------------------------------------------------------------------

    def apply_link_items(self, items, request_id=None):
        """Apply `(link_id, forward_number, entities)` items in order; one Outcome each.

        A non-empty list creates or replaces the rule and gives it the link_id, removing any
        other rule that held that link_id (INSERT OR REPLACE deletes every row it conflicts
        with). An empty list removes the rule. Each item sees the ones before it.
        """
        with self._changing(Source.LINK, request_id) as db:
            # Every rule the push may touch: those it names, and those holding a link_id it gives.
            self._snapshot(db, [number for _, number, _ in items], [link_id for link_id, _, _ in items])
            return self._apply(db, items)

    @staticmethod
    def _apply(db, rules):
        # A rule whose link_id is None keeps the one it has: the import of a legacy table.
        outcomes = []
        for link_id, number, entities in rules:
            existed = db.execute("SELECT 1 FROM rules WHERE forward_number = ?", (number,)).fetchone()
            if entities:
                db.execute(
                    "INSERT OR REPLACE INTO rules (forward_number, link_id, entities) VALUES"
                    " (?1, coalesce(?2, (SELECT link_id FROM rules WHERE forward_number = ?1)), ?3)",
                    (number, link_id, json.dumps(entities)),
                )
                outcomes.append(Outcome.UPDATED if existed else Outcome.CREATED)
            elif existed:
                db.execute("DELETE FROM rules WHERE forward_number = ?", (number,))
                outcomes.append(Outcome.DELETED)
            else:
                outcomes.append(Outcome.NOT_FOUND)
        return outcomes

    def put_rule(self, number, entities, request_id=None):
        """Create or replace one rule, keeping its link_id; an empty list removes it."""
        with self._changing(Source.ITEM, request_id) as db:
            self._snapshot(db, [number])
            if entities:
                db.execute(
                    "INSERT INTO rules (forward_number, entities) VALUES (?, ?)"
                    " ON CONFLICT (forward_number) DO UPDATE SET entities = excluded.entities",
                    (number, json.dumps(entities)),
                )
            else:
                db.execute("DELETE FROM rules WHERE forward_number = ?", (number,))

    def delete_rules(self, numbers, request_id=None):
        return self._delete_each(Source.DELETE, "forward_number", numbers, request_id)

    def delete_linked_rules(self, link_ids, request_id=None):
        return self._delete_each(Source.DELETE_LINK, "link_id", link_ids, request_id)

    def _delete_each(self, source, column, keys, request_id):
        # One at a time, in order: a key repeated in one request finds nothing the second time.
        with self._changing(source, request_id) as db:
            self._snapshot(db, **{"numbers" if column == "forward_number" else "link_ids": keys})
            statement = f"DELETE FROM rules WHERE {column} = ?"
            return [Outcome.DELETED if db.execute(statement, (key,)).rowcount else Outcome.NOT_FOUND for key in keys]

    def list_rules(self, limit, page_number, descending=False, linked=False, link_id=None):
        """`(total, page)`: how many rules there are, and one page of them as a JSON array of the
        API's objects; `linked` keeps the rules that have a link_id, `link_id` only the one with it."""
        offset = min((page_number - 1) * limit, INT64_MAX)
        if link_id is not None:
            row = self.db.execute(LIST_ONE, (link_id,)).fetchone()
            total, rows = (0, []) if row is None else (1, [row][offset : offset + limit])
        else:
            with self._transaction("DEFERRED") as db:  # the count and the page from one snapshot
                total = db.execute(LIST_COUNT[linked]).fetchone()[0]
                rows = db.execute(LIST_PAGE[linked, descending], {"offset": offset, "limit": limit}).fetchall()
        return total, f"[{','.join(item for (item,) in rows)}]"

    def rule(self, number):
        """`(link_id, entities)` of the rule with this forward_number, or None."""
        row = self.db.execute("SELECT link_id, entities FROM rules WHERE forward_number = ?", (number,)).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    def history(self, limit, page_number, number=None, link_id=None):
        """`(total, changes)`: how many records match, and one page of them as Change values,
        newest first; `number` and `link_id` keep the records of that rule, or that link_id
        before or after."""
        which = number is not None, link_id is not None
        values = {"number": number, "link_id": link_id, "keep": self.history_limit}
        values.update(limit=limit, offset=min((page_number - 1) * limit, INT64_MAX))
        with self._transaction("DEFERRED") as db:  # the count and the page from one snapshot
            total = db.execute(HISTORY_COUNT[which], values).fetchone()[0]
            rows = db.execute(f"SELECT {HISTORY_COLUMNS} FROM history {HISTORY_PAGE[which]}", values).fetchall()
        return total, [Change(*row) for row in rows]

    # -- tokens ------------------------------------------------------------------------------

    def add_token(self, digest, expires_at, now):
        """Store a token's digest, and drop the tokens that have expired by `now`."""
        with self._transaction() as db:
            db.execute("DELETE FROM tokens WHERE expires_at <= ?", (now,))
            db.execute("INSERT INTO tokens (digest, expires_at) VALUES (?, ?)", (digest, expires_at))

    def token_owner(self, digest, now):
        """The account's username if the token with this digest is valid at `now`, else None."""
        row = self.db.execute(
            "SELECT account.username FROM tokens, account WHERE tokens.digest = ? AND tokens.expires_at > ?",
            (digest, now),
        ).fetchone()
        return None if row is None else row[0]

    # -- failed logins (throttle.py) ------------------------------------------------------------

    def blocked_until(self, key):
        """When the block on `key` ends (0 when it has failures but no block), None without failures."""
        row = self.db.execute("SELECT blocked_until FROM login_failures WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def add_login_failure(self, key, address, now, max_failures, window_seconds, block_seconds):
        """Count a failed attempt for `key`, from `address`; True when it is the `max_failures`th within
        `window_seconds`, which blocks `key` for `block_seconds` and starts its count afresh.

        Counts whose window and block have both ended are dropped first, so an old count
        never adds to a new one and the table keeps only the recent.
        """
        with self._transaction() as db:
            db.execute(
                "DELETE FROM login_failures WHERE window_start <= ? AND blocked_until <= ?", (now - window_seconds, now)
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
        with self._transaction() as db:
            db.execute("DELETE FROM login_failures WHERE key = ?", (key,))

    def rationed_until(self, address, now, max_failures, window_seconds):
        """When the window of `address` ends, if it has `max_failures` failures in it by `now`; else None."""
        row = self.db.execute(
            "SELECT window_start + :window FROM address_failures"
            " WHERE address = :address AND failures >= :max_failures AND window_start + :window > :now",
            {"window": window_seconds, "address": address, "max_failures": max_failures, "now": now},
        ).fetchone()
        return None if row is None else row[0]

    def add_address_failure(self, address, now, max_failures, window_seconds):
        """Count a failed password check from `address` in its window, which starts at its first
        failure; when it is the `max_failures`th, the time the window ends, else None. Windows
        that have ended are dropped first."""
        with self._transaction() as db:
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
        return self.db.execute(
            "SELECT address, max(blocked_until), count(*) FROM login_failures WHERE blocked_until > ?"
            " GROUP BY address ORDER BY address",
            (now,),
        ).fetchall()

    def login_failure_addresses(self):
        return [address for (address,) in self.db.execute("SELECT DISTINCT address FROM login_failures")]

    def lift_login_blocks(self, now, address=None, keys=None):
        """Forget the failed attempts (blocks and counts) from `address`, or of `keys`, or all of
        them when both are None; how many blocks in force at `now` that lifted."""
        where, parameters = "1", ()
        if address is not None:
            where, parameters = "address = ?", (address,)
        elif keys is not None:
            where, parameters = "key IN (SELECT value FROM json_each(?))", (json.dumps(list(keys)),)
        with self._transaction() as db:
            (lifted,) = db.execute(
                f"SELECT count(*) FROM login_failures WHERE blocked_until > ? AND {where}", (now, *parameters)
            ).fetchone()
            db.execute(f"DELETE FROM login_failures WHERE {where}", parameters)
            return lifted

    def rationed_addresses(self, now, max_failures, window_seconds):
        """`(address, until)` of the addresses rationed at `now`, in address order."""
        return self.db.execute(
            "SELECT address, window_start + :window FROM address_failures"
            " WHERE failures >= :max_failures AND window_start + :window > :now ORDER BY address",
            {"window": window_seconds, "max_failures": max_failures, "now": now},
        ).fetchall()

    def lift_rationing(self, now, max_failures, window_seconds, address=None):
        """Forget the failed checks counted for `address`, or for every address; how many
        addresses that were rationed at `now` that lifted."""
        where, parameters = ("1", {}) if address is None else ("address = :address", {"address": address})
        values = {"window": window_seconds, "max_failures": max_failures, "now": now, **parameters}
        with self._transaction() as db:
            (lifted,) = db.execute(
                "SELECT count(*) FROM address_failures"
                f" WHERE failures >= :max_failures AND window_start + :window > :now AND {where}",
                values,
            ).fetchone()
            db.execute(f"DELETE FROM address_failures WHERE {where}", parameters)
            return lifted

    # -- the account and the settings ----------------------------------------------------------

    def account(self):
        row = self.db.execute("SELECT username, password_hash, is_default FROM account").fetchone()
        return None if row is None else Account(*row)

    def set_account(self, username, password_hash, is_default=False):
        """Set the account, and revoke every token with it: one issued under the old password
        must not outlive it. How many tokens that revoked."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO account (id, username, password_hash, is_default) VALUES (1, ?, ?, ?)",
                (username, password_hash, int(is_default)),
            )
            return db.execute("DELETE FROM tokens").rowcount

    def setting(self, name):
        row = self.db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    # -- for the operator's commands (cli.py) ---------------------------------------------------

    def count_rules(self):
        return self.db.execute("SELECT count(*) FROM rules").fetchone()[0]

    def each_rule(self, limit=None):
        """Every rule, or the first `limit`, as `(link_id, forward_number, entities)` in
        forward_number order; read lazily, from one snapshot."""
        rows = self.db.execute(
            "SELECT link_id, forward_number, entities FROM rules ORDER BY forward_number LIMIT ?",
            (-1 if limit is None else limit,),  # SQLite: a negative LIMIT is no limit
        )
        return ((link_id, number, json.loads(text)) for link_id, number, text in rows)

    def import_rules(self, rules, replace=False):
        """Write `(link_id, forward_number, entities)` rules in one transaction, as the API would.

        A rule with a link_id takes it from any other rule, which is removed (as a Link push
        does); one without keeps the link_id it has (as a single rule's write does); an empty
        list removes the rule.
        `replace` removes every rule first. Returns how many that removed and one Outcome
        per rule.
        """
        with self._changing(Source.IMPORT, None) as db:
            # Every rule as it was, and after the writes the rules they made: `rules` is read
            # once, as it is written (it may be a progress bar).
            self._snapshot(db, everything=True)
            removed = db.execute("DELETE FROM rules").rowcount if replace else 0
            outcomes = self._apply(db, rules)
            self._snapshot(db, created=True)
            return removed, outcomes

    def revoke_tokens(self):
        """Delete every token (every client must log in again); how many there were."""
        with self._transaction() as db:
            return db.execute("DELETE FROM tokens").rowcount
