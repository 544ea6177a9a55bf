"""The command on the settings: config."""

import click
from flask import current_app

from .. import config
from . import command, database_path, warn_of_the_factory_password


@command("config")
def show_config():
    """Show the settings in force, as FORWARDING_* variables."""
    click.echo(f"# the database: {database_path()}")
    warn_of_the_factory_password()
    for name in config.DEFAULTS:
        click.echo(f"FORWARDING_{name}={current_app.config[name]}")
