"""The SQLite file: its connection, its transactions, its writers' queue, its schema and migrations.

Every write is one `BEGIN IMMEDIATE` transaction, so a request's changes are all on disk when it
is answered (WAL with `synchronous=FULL`), or none of them are; writers take their turns through
a lock file beside the database (writelock.py).
"""

import os
import secrets
import sqlite3
import time
import weakref
from contextlib import contextmanager, suppress

from .writelock import WriteLock

DATABASE_MODE = 0o660  # made so, less the umask: the service's user and group alone

WRITE_LOCK_SUFFIX = "-writer"  # the lock file beside the database (writelock.py), as SQLite's -wal
# The slot files beside the database (slots.py): of the password checks in progress, -hash.0,
# -hash.1, ... (auth.py), and of the writes in progress, -writes.0, ... (endpoint.py).
PASSWORD_CHECK_SLOTS_SUFFIX = "-hash"
WRITE_SLOTS_SUFFIX = "-writes"
SLOTS_SUFFIXES = (PASSWORD_CHECK_SLOTS_SUFFIX, WRITE_SLOTS_SUFFIX)

FIRST_TABLES = (
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
        blocked_until REAL NOT NULL          -- attempts are refused unchecked until then
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
)

ADDRESS_FAILURES = """CREATE TABLE IF NOT EXISTS address_failures (
    address TEXT PRIMARY KEY,                -- the client's address (throttle.py)
    failures INTEGER NOT NULL,               -- failed password checks since window_start
    window_start REAL NOT NULL
) WITHOUT ROWID"""

HISTORY_TABLES = (
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


# Basic credentials that passed the slow hash lately, shared by every worker (auth.py). The digest is
# an HMAC under a key that lives in the service's memory only: without it a row is no way to test a
# password guess quickly.
VERIFIED_CREDENTIALS = """CREATE TABLE IF NOT EXISTS verified_credentials (
    digest BLOB PRIMARY KEY,                 -- HMAC of the username, the password and the stored hash
    expires_at REAL NOT NULL
) WITHOUT ROWID"""


# The rules a write may touch, as they were before it, kept per connection for one transaction
# (rules.py): in SQLite's temporary store, so that however many and however long, they never sit
# in Python. A number without a rule before the write has NULL entities.
TOUCHED = """CREATE TEMP TABLE IF NOT EXISTS touched (
    forward_number INTEGER PRIMARY KEY,
    link_id INTEGER,
    entities TEXT
)"""


def _first_schema(db):
    for statement in FIRST_TABLES:
        db.execute(statement)


def _history(db):
    # Schema 1 had several shapes: rules, tokens, account and settings (with an index
    # `rules_linked`), and then, not always all of them, login_failures, address_failures and
    # login_failures.address (tests/fixtures/). Each part that is missing is added first.
    _first_schema(db)
    db.execute("DROP INDEX IF EXISTS rules_linked")  # rules_by_number serves the link lists now
    db.execute(ADDRESS_FAILURES)
    if "address" not in {row[1] for row in db.execute("PRAGMA table_info(login_failures)")}:
        # The address alone, for the operator (NULL: a row older than the column).
        db.execute("ALTER TABLE login_failures ADD COLUMN address TEXT")
    for statement in HISTORY_TABLES:
        db.execute(statement)


# Settings rows of the history's ids and of the data's generation (rules.py, backup.py).
HISTORY_ISSUED = "history_issued"  # the newest history id ever issued: new ids continue past it
HISTORY_BARRIER = "history_barrier"  # set by a restore: a cursor below it has missed records
DATABASE_ID = "database_id"  # random, made with the database and renewed by every restore
RULES_VERSION = "rules_version"  # counts the writes that changed a rule or the history


def new_database_id():
    return secrets.token_hex(16)


# SQLite's header field that says which application's file it is: "FWD1" in ASCII.
APPLICATION_ID = 0x46574431

# The tables of every schema this service ever made, and those every one of its databases has;
# the tables SQLite and Litestream add to any database are no one's.
OWN_TABLES = frozenset(
    {"rules", "tokens", "account", "login_failures", "settings", "address_failures", "history", "verified_credentials"}
)
ALWAYS_THERE = frozenset({"rules", "tokens", "account", "settings"})
ANYONE_S_TABLES = frozenset({"_litestream_seq", "_litestream_lock"})


def _application_id(db):
    # Databases made before it have 0 there, and are known by their tables (Database.check).
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")


# Under the history's bound in bytes, each record counts for the bytes of its text (all ASCII: JSON
# made with ensure_ascii, request ids checked) and this for its numbers; `bytes_before` is the sum
# over every record before it, so that the prune by bytes finds its cut by an index seek.
RECORD_NUMBERS_BYTES = 48


def _history_sizes(db):
    # What each record counts for under the history's bound in bytes, and the running total before
    # it (rules.RECORD computes both for new records), filled in for the records already there.
    # Each step may meet its own work done already (as _history does): a column there is kept.
    columns = {row[1] for row in db.execute("PRAGMA table_info(history)")}
    for column in ("size", "bytes_before"):
        if column not in columns:
            db.execute(f"ALTER TABLE history ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
    db.execute(
        f"""UPDATE history SET size = {RECORD_NUMBERS_BYTES} + length(source) + coalesce(length(request_id), 0)
            + coalesce(length(before_entities), 0) + coalesce(length(after_entities), 0)"""
    )
    db.execute(
        """UPDATE history SET bytes_before = running.bytes_before FROM
            (SELECT id, sum(size) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) - size AS bytes_before FROM history)
            AS running WHERE running.id = history.id"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS history_by_bytes_before ON history (bytes_before)")


def _verified_credentials(db):
    db.execute(VERIFIED_CREDENTIALS)


# MIGRATIONS[n - 1] brings the schema from version n - 1 to n (`PRAGMA user_version`; 0: an empty file).
MIGRATIONS = (_first_schema, _history, _application_id, _history_sizes, _verified_credentials)
SCHEMA_VERSION = len(MIGRATIONS)


class ForeignDatabase(sqlite3.DatabaseError):
    """Another application's SQLite file: this code must not write to it. `what` says what it
    is, after the file's name."""

    def __init__(self, what):
        super().__init__(f"it {what}")
        self.what = what


class NewerSchema(sqlite3.DatabaseError):
    """The database was made by a newer forwarding: this code must not write to it."""

    def __init__(self, version):
        super().__init__(f"made by a newer forwarding (schema {version}; this code knows up to {SCHEMA_VERSION})")


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


class Database:
    """One connection to the database file, and the lock file its writers queue on."""

    def __init__(self, connection, write_lock, busy_timeout):
        self.connection = connection
        self._write_lock = write_lock
        self._busy_timeout = busy_timeout
        # A thread that ends drops the connection db.py kept for it, unclosed, and an sqlite3
        # connection dropped unclosed keeps its file open for good: a server that starts a
        # thread per request (`flask run`) would run out of files. Both close when it goes.
        self._closer = weakref.finalize(self, _close, connection, write_lock)

    @classmethod
    def open(cls, path, busy_timeout_ms=30000):
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
        return cls(connection, write_lock, busy_timeout_ms / 1000)

    def close(self):
        self._closer()

    @contextmanager
    def transaction(self, mode="IMMEDIATE"):
        """A transaction, committed when the block ends, rolled back when it raises; it yields the
        connection. IMMEDIATE writes; DEFERRED reads several statements from one snapshot."""
        # IMMEDIATE takes SQLite's write lock up front, so a writer waits for it instead of
        # failing with "database is locked" when it upgrades a read lock. Writers of this
        # service queue for the lock file first, and then find SQLite's lock free.
        writes = mode == "IMMEDIATE"
        if writes:
            self._write_lock.acquire(self._busy_timeout)
        db = self.connection
        try:
            db.execute(f"BEGIN {mode}")
            try:
                yield db
            except BaseException:
                if db.in_transaction:  # SQLite may have rolled back already (a full disk)
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            if writes:
                self._write_lock.release()

    @contextmanager
    def writers_held(self):
        """The writers' lock, held without a transaction: no writer of the service gets in.
        For SQLite's backup API (backup.py), which takes SQLite's own write lock itself and
        refuses a destination inside a transaction."""
        self._write_lock.acquire(self._busy_timeout)
        try:
            yield
        finally:
            self._write_lock.release()

    def prepare(self, make_account, make_serial):
        """Check the file, bring its schema up to date, and seed the account and the device serial.

        `make_account()` returns `(username, password_hash)` and `make_serial()` a string; each
        is called only when the database has none yet. Raises sqlite3.DatabaseError (NewerSchema
        for a database of a newer forwarding) before anything is written.
        """
        self.check()
        self._use_wal()
        with self.transaction() as db:
            self._migrate(db)  # the version read again: another worker may have just migrated
            if db.execute("SELECT 1 FROM account").fetchone() is None:
                db.execute(
                    "INSERT INTO account (id, username, password_hash, is_default) VALUES (1, ?, ?, 1)",
                    make_account(),
                )
            if db.execute("SELECT 1 FROM settings WHERE name = 'device_serial'").fetchone() is None:
                db.execute("INSERT INTO settings (name, value) VALUES ('device_serial', ?)", (make_serial(),))
            db.execute("INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)", (DATABASE_ID, new_database_id()))

    def check(self, thorough=False):
        """Raise sqlite3.DatabaseError for a file this code must not write to: damaged (a
        `quick_check`, or the slower `integrity_check` if `thorough`), another application's
        (ForeignDatabase) or a newer forwarding's (NewerSchema). Reads only."""
        # A damaged file stops here, before anything is written to it.
        check = "integrity_check" if thorough else "quick_check"
        read = self.connection.execute
        verdict = read(f"PRAGMA {check}(1)").fetchone()[0]
        if verdict != "ok":
            raise sqlite3.DatabaseError("database disk image is malformed: " + verdict.replace("\n", " "))
        (application_id,) = read("PRAGMA application_id").fetchone()
        if application_id not in (0, APPLICATION_ID):
            raise ForeignDatabase(f"is not a forwarding database: application_id 0x{application_id % 2**32:08x}")
        if application_id == 0:
            tables = {name for (name,) in read("SELECT name FROM sqlite_schema WHERE type = 'table'")}
            tables -= ANYONE_S_TABLES | {name for name in tables if name.startswith("sqlite_")}
            if tables - OWN_TABLES:
                raise ForeignDatabase(f"has tables of another application: {', '.join(sorted(tables - OWN_TABLES))}")
            if tables and ALWAYS_THERE - tables:
                missing = ", ".join(sorted(ALWAYS_THERE - tables))
                raise ForeignDatabase(f"is not a forwarding database: without the tables {missing}")
        self.schema_version()

    def migrate(self):
        """Bring the schema up to date, in one transaction (a copy's: `prepare` does it for the service)."""
        with self.transaction() as db:
            self._migrate(db)

    def _migrate(self, db):
        version = self.schema_version()
        for migrate in MIGRATIONS[version:]:
            migrate(db)
        if version < SCHEMA_VERSION:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def schema_version(self):
        """The file's schema version (`PRAGMA user_version`; 0: a new file); NewerSchema past this code's."""
        (version,) = self.connection.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise NewerSchema(version)
        return version

    def _use_wal(self):
        # Workers that start together on a new file (uWSGI's lazy-apps) all switch it to WAL.
        # SQLite answers "database is locked" at once, not after the busy timeout, to one that
        # asks while another holds the write lock (waiting could deadlock): retry within it.
        deadline = time.monotonic() + self.connection.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
        while True:
            try:
                self.connection.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
            time.sleep(0.01)

    def setting(self, name):
        row = self.connection.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]
