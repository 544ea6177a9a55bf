"""Operator commands: `forwarding <command>`.

Each works on the database of the settings in force (`FORWARDING_*`, from the environment or
`--env-file`), like the service itself. A command is a function registered with `@command(name)`:
it runs inside the app's context, so `get_rules()`, `get_access()` and `current_app` work as in a
request. The commands live by what they serve: rules.py (the rules and their history), access.py
(the account, the tokens, the login blocks), settings.py (the settings), backups.py (the whole
database: backup and restore).
"""

import functools
import os

import click
from flask import current_app

from .. import __version__, config, envfile
from ..db import get_access
from ..factory import FACTORY_PASSWORD_WARNING, UnusableDatabase, create_app


class Session:
    """What the commands of one invocation share (the click context's `obj`): the environment
    they read the settings from, and the app, made on first use (tests pass their own)."""

    def __init__(self, app=None, environ=None):
        self.app = app
        self.database_was_there = True
        self.environ = os.environ if environ is None else environ


@click.group(help="Operate the call-forward rules service.")
@click.version_option(__version__, message="%(prog)s %(version)s")
@click.option(
    "-e",
    "--env-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read settings from FILE too: NAME=VALUE lines, as deploy/forwarding.env. The environment's own win.",
)
@click.pass_context
def main(ctx, env_file):
    session = ctx.ensure_object(Session)
    if env_file:
        with open(env_file, encoding="utf-8") as file:
            try:
                from_file = envfile.parse(file.read(), env_file)
            except envfile.BadLine as error:
                raise click.BadParameter(str(error), param_hint="--env-file") from None
        session.environ = {**from_file, **session.environ}


def command(name, creates_database=False, **attributes):
    """Register the decorated function as the command `name`, run in the app's context. Only a
    command that `creates_database` may start on a database that is not there yet."""

    def register(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            with _app(click.get_current_context().find_object(Session), creates_database).app_context():
                return function(*args, **kwargs)

        return main.command(name, **attributes)(run)

    return register


class BadInput(click.ClickException):
    """A setting, a database or a value that the command cannot use: a usage error, as click's
    own, in one line."""

    exit_code = 2


def _app(session, creates_database):
    if session.app is None:
        try:
            settings = config.from_environment(session.environ)
        except config.BadSetting as error:
            raise BadInput(str(error)) from None
        for warning in config.unknown(session.environ):
            click.echo(f"Warning: {warning}", err=True)
        path = settings.get("DATABASE", config.DEFAULTS["DATABASE"])
        # A command run from the wrong directory, or with a misspelt setting, must not make a
        # fresh database and show it as if the rules were gone.
        session.database_was_there = os.path.exists(path)
        if not creates_database and not session.database_was_there:
            chosen = "FORWARDING_DATABASE=" + path if "DATABASE" in settings else "FORWARDING_DATABASE is not set"
            raise click.ClickException(
                f"no database at {os.path.abspath(path)} ({chosen}): set FORWARDING_DATABASE to the service's"
                " (or use --env-file), or create one with `forwarding init`"
            )
        # A database that cannot be used is the operator's to fix: one line, not a traceback.
        try:
            session.app = create_app(settings, announce=False)  # the commands say what matters to them
        except UnusableDatabase as error:
            raise BadInput(str(error)) from None
    return session.app


def database_path():
    return os.path.abspath(current_app.config["DATABASE"])


def echo_table(header, rows, align):
    """Rows of columns: all but the last padded to their widest and aligned by `align` ("<" or
    ">" for them all, or one of those per column), the last as it is."""
    aligns = align * (len(header) - 1) if len(align) == 1 else align
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header) - 1)]
    for row in [header, *rows]:
        click.echo("  ".join([*(f"{cell:{a}{w}}" for cell, a, w in zip(row, aligns, widths)), row[-1]]))


def warn_of_the_factory_password():
    if get_access().account().is_default:
        click.echo(f"Warning: {FACTORY_PASSWORD_WARNING}", err=True)


def counted(count, noun, plural=None):
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


# Registered as they are imported: the commands of each module.
from . import access, backups, rules, settings  # noqa: E402, F401
