"""The commands on the whole database: backup, restore, restored."""

import functools
import os
import shutil
import sqlite3
import tempfile

import click

from ..db import get_storage
from ..storage import backup as backups
from . import command, counted, database_named, database_path, open_database
from .files import write_as_operator

NOTHING_CHANGED = "; nothing changed"


def _checked(check, after=""):
    # Each path is checked as the command line is read, before the database is even opened.
    def callback(ctx, param, path):
        try:
            check(path)
        except backups.BadPath as error:
            raise click.ClickException(f"{error}{after}") from None
        return path

    return callback


def _not_the_database(path, after=""):
    try:
        backups.check_not_the_database(path, database_path())
    except backups.BadPath as error:
        raise click.ClickException(f"{error}{after}") from None


@command("backup", opens_database=False)
@click.argument("path", type=click.Path(), callback=_checked(backups.check_target))
def backup(path):
    """Copy the whole database to PATH, while the service runs and writes.

    The rules, their history, the account, the tokens and the settings, as they were when the
    backup began: every write acknowledged before it is in it. PATH is written whole (mode
    0600) and only then takes the name, replacing a file there; never through a symbolic link.
    `forwarding restore PATH` makes it the service's database again.
    """
    _not_the_database(path)
    size, rules, history, taken_at = write_as_operator(path, functools.partial(_backup, path), mode=0o600)
    click.echo(
        f"Backed up {database_named()} to {os.path.abspath(path)}: {size:,} bytes, {_rules(rules)},"
        f" {_records(history)}, taken {taken_at}."
    )


def _backup(path, out):
    # As the database's owner (run as root: write_as_operator's child): the copy is made in a
    # directory of its own beside the database, then sent whole to the file the operator gets.
    with open_database().app_context():
        storage = get_storage()
        work = tempfile.mkdtemp(dir=os.path.dirname(database_path()), prefix=".forwarding-backup-")
        try:
            copy = backups.backup(storage.database.connection, os.path.join(work, "backup.db"))
            with open(copy.path, "rb") as data:
                shutil.copyfileobj(data, out)
        except (OSError, sqlite3.Error) as error:
            raise click.ClickException(f"backup to {path} failed, nothing written: {error}") from None
        finally:
            shutil.rmtree(work, ignore_errors=True)
    storage.close()  # the child ends without Python's exit handlers: SQLite's -wal and -shm go now
    return copy.size, copy.rules, copy.history, copy.taken_at


def _opened(ctx, param, path):
    # Opened as the command line is read, as the user who runs it (root, on a deployed host): the
    # command then becomes the database's owner, who may not read the operator's files.
    try:
        return path, backups.open_backup(path)
    except backups.BadPath as error:
        raise click.ClickException(f"{error}{NOTHING_CHANGED}") from None


@command("restore", creates_database=True)
@click.argument("path", type=click.Path(), callback=_opened)
def restore(path):
    """Make the backup in PATH the service's database, while the service runs.

    PATH is checked first, and only read: a database of this service, whole, of a schema this
    version can open (an older one is brought up to date on a copy). The database it replaces
    is kept beside it, as DATABASE.before-restore-<UTC time>. Every login token is revoked:
    clients log in again, with the password the backup holds.
    """
    path, opened = path
    _not_the_database(path, NOTHING_CHANGED)
    try:
        restored = backups.restore(get_storage().database, database_path(), path, opened)
    except backups.BadPath as error:
        raise click.ClickException(f"{error}{NOTHING_CHANGED}") from None
    except (OSError, sqlite3.Error) as error:
        # SQLite rolls the backup's transaction back: the database stays as it was.
        raise click.ClickException(f"restore from {path} failed: {error}{NOTHING_CHANGED}") from None
    copy, kept = restored.backup, restored.kept
    taken = copy.taken_at or "unknown (not made by `forwarding backup`)"
    click.echo(f"Kept the database it replaces as {kept.path} ({kept.size:,} bytes).")
    click.echo(
        f"Restored {copy.path}, taken {taken}, into {database_named()}: {_rules(copy.rules)}, {_records(copy.history)}."
    )
    click.echo(
        f"Revoked {counted(restored.revoked, 'token')}: every client must log in again;"
        " the backup's password is now in force."
    )


@command("restored")
def restored():
    """Mark the database as restored by Litestream, before the service starts on it.

    The step `forwarding restore` takes with a backup: the history's records take new ids, past
    every id the database issued and those the lost host may have issued after the replica's
    last write, so that no id names two records and clients following the history start again;
    and every ETag changes. Rules, history, account and tokens are kept.
    """
    try:
        barrier = backups.mark_restored(get_storage().database)
    except sqlite3.Error as error:
        raise click.ClickException(f"marking {database_path()} as restored failed: {error}{NOTHING_CHANGED}") from None
    click.echo(f"Marked {database_named()} as restored: the history's ids go on after {barrier:,}.")


def _rules(count):
    return counted(count, "rule")


def _records(count):
    return counted(count, "history record")
