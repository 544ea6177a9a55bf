"""Operator commands: `forwarding <command>` (or `flask --app forwarding <command>`).

Each works on the database of the settings in force (`FORWARDING_*`), like the service itself.
"""

import contextlib
import json
import os
import tempfile
from collections import Counter

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from . import UnusableDatabase, config, create_app, credentials, rulefile
from .db import get_repo
from .repository import Outcome

# An import this large shows a progress bar of its writing on a terminal: it takes seconds.
PROGRESS_FROM = 10_000


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


@click.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file (replaced whole, only when done; not a symbolic link) instead of stdout.",
)
@with_appcontext
def export(output):
    """Write every rule, with its link_id, as JSON.

    The format: {"version": 1, "items": [{"link_id": 7, "forward_number": 101,
    "forward_entity_list": ["101"]}, ...]}, one item a line in forward_number order, without
    `link_id` for a rule that has none. `forwarding import` reads it back.
    """
    with click.open_file("-", "w") if output is None else _replacing(output) as out:
        count = rulefile.write(get_repo().each_rule(), out)
    if output:
        click.echo(f"Exported {_rules(count)} to {output}.")


@contextlib.contextmanager
def _replacing(path):
    """A new file that replaces the one at `path` once written whole, or is removed on failure.

    Never through a symbolic link at `path` (run as root, an export would overwrite whatever
    another user's link points at): refused. The new file is made beside it and renamed over
    it, which replaces the name itself; it keeps the mode of the file it replaces.
    """
    if os.path.islink(path):
        raise click.ClickException(f"{path} is a symbolic link: not writing through it")
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=f".{os.path.basename(path)}.")
    try:
        with open(fd, "w") as out:
            with contextlib.suppress(FileNotFoundError):
                os.fchmod(fd, os.lstat(path).st_mode & 0o7777)
            yield out
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--replace", is_flag=True, help="Remove every rule first, so the file's rules are all there is.")
@with_appcontext
def import_(file, replace):
    """Load the rules of FILE (`-` for stdin), all of them or none.

    FILE is what `forwarding export` writes, or a legacy panel forward table:
    {"count": N, "items": [{"apartment": 101, "forward_numbers": ["77469"]}], "version": 1}.
    Each item is checked as the API checks it; the first bad one is named and nothing changes.

    Without --replace the rules are merged: a rule in the file is created or replaced (an empty
    list removes it), the others stay. A rule without a link_id in the file keeps the one it has.
    """
    source = "stdin" if file == "-" else file
    try:
        with click.open_file(file, "rb") as data:
            kind, rules = rulefile.read(json.load(data), current_app.config["MAX_ENTITIES"])
    except (ValueError, RecursionError) as error:  # BadFile, or not JSON
        raise click.ClickException(f"{source}: {error}") from None
    repo = get_repo()
    if len(rules) >= PROGRESS_FROM and click.get_text_stream("stdout").isatty():
        with click.progressbar(rules, label="Importing") as bar:
            removed, outcomes = repo.import_rules(bar, replace)
    else:
        removed, outcomes = repo.import_rules(rules, replace)
    counts = Counter(outcomes)
    click.echo(
        (f"Removed {_rules(removed)}, then imported" if replace else "Imported")
        + f" {_rules(len(rules))} from {source} ({kind}): {counts[Outcome.CREATED]} created,"
        + f" {counts[Outcome.UPDATED]} updated, {counts[Outcome.DELETED]} deleted."
    )


@click.command("list")
@click.option("--limit", type=click.IntRange(min=1), help="Show only the first LIMIT rules.")
@with_appcontext
def list_(limit):
    """Show the rules as a table, in forward_number order."""
    repo = get_repo()
    rows = [
        (str(number), "-" if link_id is None else str(link_id), ", ".join(entities))
        for link_id, number, entities in repo.each_rule(limit)
    ]
    total = repo.count_rules()
    if not total:
        click.echo("No rules.")
        return
    header = ("forward_number", "link_id", "forward_entity_list")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(2)]
    for number, link_id, entities in [header, *rows]:
        click.echo(f"{number:>{widths[0]}}  {link_id:>{widths[1]}}  {entities}")
    click.echo(f"{len(rows)} of {_rules(total)}." if len(rows) < total else f"{_rules(total)}.")


@click.command("revoke-tokens")
@with_appcontext
def revoke_tokens():
    """Log every client out: delete all login tokens (HTTP Basic keeps working)."""
    count = get_repo().revoke_tokens()
    current_app.logger.info("%d tokens revoked", count)
    click.echo(f"Revoked {count} token{'' if count == 1 else 's'}.")


@click.command("config")
@with_appcontext
def show_config():
    """Show the settings in force, as FORWARDING_* variables."""
    for name in config.DEFAULTS:
        click.echo(f"FORWARDING_{name}={current_app.config[name]}")


def _rules(count):
    return f"{count} rule{'' if count == 1 else 's'}"


def init_app(app):
    for command in (set_password, export, import_, list_, revoke_tokens, show_config):
        app.cli.add_command(command)


def _create_app():
    # A database that cannot be used is the operator's to fix: one line, not a traceback.
    try:
        return create_app()
    except UnusableDatabase as error:
        raise click.ClickException(str(error)) from None


main = FlaskGroup(create_app=_create_app, help="Operate the call-forward rules service.")
