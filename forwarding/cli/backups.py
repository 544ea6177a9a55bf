"""The commands on the whole database: backup, restore, restored."""

import sqlite3

import click
from flask import current_app

from ..db import get_storage
from ..storage import backup as backups
from . import command, counted, database_path

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


@command("backup")
@click.argument("path", type=click.Path(), callback=_checked(backups.check_target))
def backup(path):
    """Copy the whole database to PATH, while the service runs and writes.

    The rules, their history, the account, the tokens and the settings, as they were when the
    backup began: every write acknowledged before it is in it. PATH is written whole (mode
    0600) and only then takes the name, replacing a file there; never through a symbolic link.
    `forwarding restore PATH` makes it the service's database again.
    """
    _not_the_database(path)
    try:
        copy = backups.backup(get_storage().database.connection, path)
    except (OSError, sqlite3.Error) as error:
        raise click.ClickException(f"backup to {path} failed, nothing written: {error}") from None
    current_app.logger.info("database backed up to %s (%s bytes)", copy.path, copy.size)
    click.echo(
        f"Backed up {database_path()} to {copy.path}: {copy.size:,} bytes, {_rules(copy.rules)},"
        f" {_records(copy.history)}, taken {copy.taken_at}."
    )


@command("restore", creates_database=True)
@click.argument("path", type=click.Path(), callback=_checked(backups.check_source, NOTHING_CHANGED))
def restore(path):
    """Make the backup in PATH the service's database, while the service runs.

    PATH is checked first, and only read: a database of this service, whole, of a schema this
    version can open (an older one is brought up to date on a copy). The database it replaces
    is kept beside it, as DATABASE.before-restore-<UTC time>. Every login token is revoked:
    clients log in again, with the password the backup holds.
    """
    _not_the_database(path, NOTHING_CHANGED)
    try:
        restored = backups.restore(get_storage().database, database_path(), path)
    except backups.BadPath as error:
        raise click.ClickException(f"{error}{NOTHING_CHANGED}") from None
    except (OSError, sqlite3.Error) as error:
        # SQLite rolls the backup's transaction back: the database stays as it was.
        raise click.ClickException(f"restore from {path} failed: {error}{NOTHING_CHANGED}") from None
    copy, kept = restored.backup, restored.kept
    taken = copy.taken_at or "unknown (not made by `forwarding backup`)"
    current_app.logger.info("database restored from %s (taken %s); the one it replaced kept", copy.path, taken)
    click.echo(f"Kept the database it replaces as {kept.path} ({kept.size:,} bytes).")
    click.echo(
        f"Restored {copy.path}, taken {taken}, into {database_path()}: {_rules(copy.rules)}, {_records(copy.history)}."
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
    current_app.logger.info("database marked as restored; history ids go on after %s", barrier)
    click.echo(f"Marked {database_path()} as restored: the history's ids go on after {barrier:,}.")


def _rules(count):
    return counted(count, "rule")


def _records(count):
    return counted(count, "history record")
