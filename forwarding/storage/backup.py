"""Backups of the whole database, and restores from them, with SQLite's online backup API.

`backup` copies every page of the database in one step, from one read transaction, while the
service goes on writing: the copy holds every write committed before it began, and nothing
half-done. A copy of the file could not: it misses what is still in the write-ahead log, and can
catch the file mid-write. `restore` writes a checked copy of a backup into the live database
through the same API, under the writers' lock: each worker's connection sees it at its next
statement, as it would another writer's transaction.
"""

import datetime
import errno
import os
import secrets
import shutil
import sqlite3
import stat
import tempfile
from contextlib import closing, suppress
from typing import NamedTuple

from .database import (
    DATABASE_ID,
    HISTORY_BARRIER,
    HISTORY_ISSUED,
    SLOTS_SUFFIXES,
    WRITE_LOCK_SUFFIX,
    Database,
    ForeignDatabase,
    NewerSchema,
    new_database_id,
)

TAKEN_AT = "backup_taken_at"  # the settings row that says when a backup was taken (UTC)
RESTORED_AT = "restored_at"  # and when the database was last restored from one
SQLITE_HEADER = b"SQLite format 3\0"
# The files SQLite and this service keep beside the database.
BESIDE = ("-wal", "-shm", "-journal", WRITE_LOCK_SUFFIX)


class BadPath(Exception):
    """A path the command cannot use, or a file it cannot restore: the message names it and says
    why, in one line."""


class Copy(NamedTuple):
    path: str
    size: int  # bytes
    rules: int
    history: int  # records
    taken_at: str | None  # UTC, as 2026-12-03T08:00:00Z; None: not made by `backup`


class Restored(NamedTuple):
    backup: Copy  # what was restored, as checked (and migrated) before it was written
    kept: Copy  # the database it replaced, kept beside it
    revoked: int  # tokens


def utc_now():
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def _stamp():
    return utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")


def check_target(path):
    """Raise BadPath unless a backup can be written at `path`: its directory there and writable,
    and nothing at `path` but a regular file (which the backup replaces)."""
    if not path:
        raise BadPath("the path is empty")
    directory = os.path.dirname(path) or "."
    try:
        if not stat.S_ISDIR(os.stat(directory).st_mode):
            raise BadPath(f"{directory} is not a directory")
    except OSError as error:
        raise BadPath(f"{directory}: {_reason(error, 'no such directory')}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BadPath(f"cannot write in {directory}: permission denied")
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise BadPath(f"{path}: {_reason(error)}") from None
    if stat.S_ISLNK(mode):
        raise BadPath(f"{path} is a symbolic link: not writing through it")
    if stat.S_ISDIR(mode):
        raise BadPath(f"{path} is a directory")
    if not stat.S_ISREG(mode):
        raise BadPath(f"{path} is not a regular file")


def check_not_the_database(path, database):
    """Raise BadPath if `path` is the database at `database`, or one of the files beside it."""
    real = os.path.join(os.path.realpath(os.path.dirname(path) or "."), os.path.basename(path))
    ours = os.path.realpath(database)
    with suppress(OSError):
        if os.path.samefile(path, ours):
            real = ours
    if real == ours:
        raise BadPath(f"{path} is the service's database")
    for suffix in BESIDE:
        if real == ours + suffix:
            raise BadPath(f"{path} is the {suffix} file of the service's database")
    for suffix in SLOTS_SUFFIXES:
        slot = real.removeprefix(ours + suffix + ".")
        if slot != real and slot.isascii() and slot.isdigit():
            raise BadPath(f"{path} is the {suffix}.{slot} file of the service's database")


def backup(connection, path, replace=True):
    """Copy the database of `connection` to a new file at `path`, 0600, and note in it when; a
    Copy of what it holds. The copy is one file (no write-ahead log), made under a temporary
    name beside `path` and renamed onto it once whole and checked: a failure leaves nothing at
    `path` and nothing beside it. `replace=False`: raise FileExistsError rather than replace
    a file at `path`."""
    directory, name = os.path.split(path)
    directory = directory or "."
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.partial")
    # Never through a link at the temporary name, nor onto a file that was there.
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
    try:
        taken_at = _stamp()
        with closing(sqlite3.connect(temporary, isolation_level=None)) as copy:
            connection.backup(copy, pages=-1)  # every page in one step, from one read transaction
            copy.execute("PRAGMA journal_mode = DELETE")  # one file that needs no other
            copy.execute("INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", (TAKEN_AT, taken_at))
            verdict = copy.execute("PRAGMA integrity_check(1)").fetchone()[0]
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"the copy failed its integrity check: {verdict}")
            rules, history = _counts(copy)
        _sync(temporary)
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
            os.unlink(temporary)
        _sync(directory)
    except BaseException:
        for leftover in (temporary, temporary + "-journal"):
            with suppress(FileNotFoundError):
                os.unlink(leftover)
        raise
    return Copy(os.path.abspath(path), os.stat(path).st_size, rules, history, taken_at)


def restore(database, database_path, path, opened=None):
    """Make the backup at `path` the content of `database` (a database.Database on the live file
    at `database_path`), for every connection to it: a Restored.

    The backup is checked and migrated on a private copy first (the file at `path` is only
    read); any fault with it raises BadPath before anything is written. Then, under the
    writers' lock, the live database is backed up beside it, to
    `<database_path>.before-restore-<UTC time>` (then `-2`, `-3`... if that is taken), and the
    copy written into it, without its tokens: every client logs in again. `opened`: what
    `open_backup(path)` gave, when it was opened earlier (as another user).
    """
    directory = os.path.dirname(os.path.abspath(database_path))
    with tempfile.TemporaryDirectory(dir=directory, prefix=".forwarding-restore-") as work:
        candidate_path = os.path.join(work, "restoring.db")
        size = _copy_source(path, candidate_path, opened or open_backup(path))
        try:
            candidate = Database.open(candidate_path)
        except sqlite3.DatabaseError as error:
            raise BadPath(f"{path} is damaged: {error}") from None
        with closing(candidate):
            checked = _checked(candidate, path, size)
            connection = candidate.connection
            _match_page_size(connection, database.connection)
            with database.writers_held():
                with candidate.transaction() as db:
                    db.execute("DELETE FROM tokens")
                    db.execute(
                        "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)",
                        (RESTORED_AT, _stamp()),
                    )
                    _past_every_id(db, database.connection)
                kept = keep(database.connection, database_path, "before-restore")
                (revoked,) = database.connection.execute("SELECT count(*) FROM tokens").fetchone()
                connection.backup(database.connection, pages=-1)
    return Restored(checked, kept, revoked)


def _issued(connection):
    """The newest history id that the database at `connection` ever issued."""
    (newest,) = connection.execute("SELECT max(id) FROM history").fetchone()
    row = connection.execute("SELECT CAST(value AS INTEGER) FROM settings WHERE name = ?", (HISTORY_ISSUED,)).fetchone()
    return max(newest or 0, row[0] if row else 0)


def _past_every_id(restoring, live, margin=0):
    """Renumber the history being restored past every id that it or the live database ever issued
    (and `margin` more), so that no id names two records; the newest is the barrier (docs/api.md,
    7.3), returned. A new database id: no ETag of the replaced data names the restored data."""
    issued = max(_issued(restoring), _issued(live)) + margin
    (first,) = restoring.execute("SELECT min(id) FROM history").fetchone()
    if first is not None:  # every new id is above every old one: no two rows meet on the way
        restoring.execute("UPDATE history SET id = id + ?", (issued + 1 - first,))
    barrier = max(_issued(restoring), issued)
    restoring.executemany(
        "INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)",
        [(HISTORY_ISSUED, barrier), (HISTORY_BARRIER, barrier), (DATABASE_ID, new_database_id())],
    )
    return barrier


# Litestream's copy may lack the newest records the lost host issued, up to its last second: ids
# skip this many more, far more than any host can issue in a second.
LOST_IDS = 2**32


def mark_restored(database):
    """What `restore` does to a backup, done to the database itself after a restore by another
    tool (Litestream's): its history past every id it issued, and LOST_IDS more; the barrier."""
    with database.transaction() as db:
        db.execute("INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", (RESTORED_AT, _stamp()))
        return _past_every_id(db, db, margin=LOST_IDS)


def _checked(candidate, path, size):
    """The Copy of a backup opened at `candidate`, checked and brought to the newest schema."""
    try:
        candidate.check(thorough=True)
    except ForeignDatabase as error:
        raise BadPath(f"{path} {error.what}") from None
    except NewerSchema as error:
        raise BadPath(f"{path} was {error}") from None
    except sqlite3.DatabaseError as error:
        raise BadPath(f"{path} is damaged: {error}") from None
    connection = candidate.connection
    if connection.execute("SELECT count(*) FROM sqlite_schema").fetchone() == (0,):
        raise BadPath(f"{path} is an SQLite database without tables, not a backup")
    candidate.migrate()
    if connection.execute("SELECT 1 FROM account").fetchone() is None:
        raise BadPath(f"{path} has no account: not a backup of a forwarding that has started")
    rules, history = _counts(connection)
    return Copy(os.path.abspath(path), size, rules, history, candidate.setting(TAKEN_AT))


def open_backup(path):
    """The backup at `path` opened for reading, and the write-ahead log beside it if it has one:
    `(fd, log fd or None)`. Raises BadPath."""
    # A database left in WAL mode may keep its newest pages in its log beside it: part of it.
    log = path + "-wal"
    has_log = os.path.isfile(log) and not os.path.islink(log) and os.path.getsize(log)
    fd = _open_source(path)
    try:
        return fd, _open_source(log) if has_log else None
    except BaseException:
        os.close(fd)
        raise


def _copy_source(path, destination, opened):
    """Copy the backup `opened` (open_backup's, of `path`) to `destination`, 0600; its size."""
    fd, log_fd = opened
    size = os.fstat(fd).st_size
    with open(fd, "rb") as source, _private(destination) as out:
        if source.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BadPath(f"{path} is not an SQLite database")
        out.write(SQLITE_HEADER)
        shutil.copyfileobj(source, out)
    if log_fd is not None:
        with open(log_fd, "rb") as source, _private(destination + "-wal") as out:
            shutil.copyfileobj(source, out)
    return size


def _private(path):
    return open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600), "wb")


def _open_source(path):
    # Never through a link, and without waiting on a FIFO: it is refused once open.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise BadPath(f"{path} is a symbolic link: give the file it names") from None
        if error.errno == errno.EACCES:
            raise BadPath(f"cannot read {path}: permission denied") from None
        raise BadPath(f"{path}: {_reason(error, 'no such file')}") from None
    status = os.fstat(fd)
    problem = None
    if stat.S_ISDIR(status.st_mode):
        problem = f"{path} is a directory"
    elif not stat.S_ISREG(status.st_mode):
        problem = f"{path} is not a regular file"
    elif status.st_size == 0:
        problem = f"{path} is empty"
    if problem:
        os.close(fd)
        raise BadPath(problem)
    os.set_blocking(fd, True)
    return fd


def keep(connection, database_path, why):
    """A backup of the database at `database_path` beside it, `<database_path>.<why>-<UTC time>`
    (then `-2`, `-3`... if that is taken): a Copy."""
    base = path = f"{database_path}.{why}-{utc_now():%Y%m%dT%H%M%SZ}"
    for number in range(2, 1000):
        try:
            return backup(connection, path, replace=False)
        except FileExistsError:
            path = f"{base}-{number}"
    raise BadPath(f"{base}: too many files of that name")


def _match_page_size(source, destination):
    # The backup API cannot change the page size of a database in WAL mode: the copy takes the
    # live database's first (a backup of another SQLite's may have another).
    (size,) = destination.execute("PRAGMA page_size").fetchone()
    if source.execute("PRAGMA page_size").fetchone() != (size,):
        source.execute("PRAGMA journal_mode = DELETE")
        source.execute(f"PRAGMA page_size = {int(size)}")
        source.execute("VACUUM")


def _counts(connection):
    # A database from before the history (schema 1, kept before its upgrade) has no records.
    has_history = connection.execute("SELECT 1 FROM sqlite_schema WHERE name = 'history'").fetchone()
    return (
        connection.execute("SELECT count(*) FROM rules").fetchone()[0],
        connection.execute("SELECT count(*) FROM history").fetchone()[0] if has_history else 0,
    )


def _sync(path):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(error, missing="no such file"):
    if isinstance(error, FileNotFoundError):
        return missing
    if isinstance(error, PermissionError):
        return "permission denied"
    return error.strerror or str(error)
