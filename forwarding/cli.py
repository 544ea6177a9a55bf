"""Operator commands: `forwarding <command>` (or `flask --app forwarding <command>`)."""

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from . import UnusableDatabase, create_app, credentials
from .db import get_repo


@click.command("set-password")
@click.option("--username", help="Rename the account too (default: keep its name).")
@click.password_option(help="The new password (asked for twice when not given).")
@with_appcontext
def set_password(username, password):
    """Change the administrator's password."""
    if not password:
        raise click.BadParameter("the password must not be empty", param_hint="--password")
    repo = get_repo()
    username = username or repo.account().username
    repo.set_account(username, credentials.hash_password(password), is_default=password == credentials.DEFAULT_PASSWORD)
    current_app.logger.info("password of account %r changed", username)
    click.echo(f"Password of {username!r} changed.")


def init_app(app):
    app.cli.add_command(set_password)


def _create_app():
    # A database that cannot be used is the operator's to fix: one line, not a traceback.
    try:
        return create_app()
    except UnusableDatabase as error:
        raise click.ClickException(str(error)) from None


main = FlaskGroup(create_app=_create_app, help="Operate the call-forward rules service.")
