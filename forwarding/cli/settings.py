"""The command on the settings: config, and config --check."""

import sqlite3
from contextlib import closing

import click
from flask import current_app

from .. import config
from ..db import get_storage
from ..factory import UnusableDatabase, not_starting
from ..storage.database import SCHEMA_VERSION, Database
from . import BadUsage, Session, command, files, open_database, warn_of_the_factory_password


@command("config", opens_database=False)
@click.option(
    "--check",
    is_flag=True,
    help="Only check the settings and the database as the service does at start: exit 2 with its one line.",
)
def show_config(check):
    """Show the settings in force, as FORWARDING_* variables.

    With --check, after changing the settings file and before restarting the service: the
    settings and the database are checked as the service checks them at start, changing nothing.
    What would stop the service is its own line, on stderr, and exit code 2; else one line
    saying what was checked.
    """
    session = click.get_current_context().find_object(Session)
    if check:
        _check(session)
        return
    with open_database().app_context():
        click.echo(f"# the settings file: {session.env_file or 'none (the environment alone)'}")
        version = get_storage().database.schema_version()
        click.echo(f"# the database: {session.database_path()}, schema version {version}")
        warn_of_the_factory_password()
        for name in config.DEFAULTS:
            click.echo(f"FORWARDING_{name}={current_app.config[name]}")


def _check(session):
    try:
        session.settings()
    except BadUsage as error:
        _not_starting(error.message)
    path = session.database_path()
    settings = f"the settings ({session.env_file or 'the environment'})"
    found = files.database_file(path)
    if found is None:
        click.echo(f"OK: {settings}; no database at {path} yet: the service makes it at its first start.")
        return
    files.become_owner(path, found)
    files.check_readable(path)
    busy_timeout = session.settings().get("BUSY_TIMEOUT_MS", config.DEFAULTS["BUSY_TIMEOUT_MS"])
    try:
        with closing(Database.open(path, busy_timeout)) as database:
            database.check()
            version = database.schema_version()
    except sqlite3.DatabaseError as error:
        _not_starting(UnusableDatabase.because(path, error))
    upgrade = f", upgraded to {SCHEMA_VERSION} at the next start" if version < SCHEMA_VERSION else ""
    click.echo(f"OK: {settings}; the database {path}, schema version {version}{upgrade}.")


def _not_starting(error):
    click.echo(not_starting(error), err=True)
    click.get_current_context().exit(2)
