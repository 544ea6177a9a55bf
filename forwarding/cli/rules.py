"""The commands on the rules and their history: init, export, import, list, show, history."""

import io
import sys

import click
from flask import current_app

from .. import rulefile, throttle
from ..db import get_rules, get_storage
from ..limits import INT64_MAX
from ..storage.rules import TooManyRules
from . import (
    Refused,
    Session,
    WholeNumber,
    command,
    counted,
    database_named,
    echo_table,
    open_database,
    warn_of_the_factory_password,
)
from .files import write_as_operator

# An import this large shows a progress bar of its writing on a terminal: it takes seconds.
PROGRESS_FROM = 10_000


@command("init", creates_database=True)
def init():
    """Create the database, unless it is there (the service also creates it when it first starts).

    Run as root in a directory another user owns (the service's), the files are that user's.
    """
    if click.get_current_context().find_object(Session).database_was_there:
        click.echo(f"The database {database_named()} is there already: nothing to do.")
    else:
        click.echo(f"Created the database {database_named()}.")
    warn_of_the_factory_password()


@command("export", opens_database=False)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write to this file (replaced whole, only when done; not a symbolic link) instead of stdout.",
)
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="Let the path of --output go through directories that are symbolic links.",
)
def export(output, follow_symlinks):
    """Write every rule, with its link_id, as JSON.

    The format: {"version": 1, "items": [{"link_id": 7, "forward_number": 101,
    "forward_entity_list": ["101"]}, ...]}, one item a line in forward_number order, without
    `link_id` for a rule that has none. `forwarding import` reads it back. The file of --output is
    written as the user who runs the command, root included.
    """
    if output is None:
        with open_database().app_context(), click.open_file("-", "w") as out:
            count = rulefile.write(get_rules().each_rule(), out)
        # Beside an export to stdout, on stderr: the export stays the file alone.
        click.echo(f"Exported {_rules(count)} from {database_named()}.", err=True)
        return
    count = write_as_operator(output, _export, follow_symlinks)
    click.echo(f"Exported {_rules(count)} from {database_named()} to {output}.")


def _export(out):
    with open_database().app_context(), io.TextIOWrapper(out, encoding="utf-8") as text:
        count = rulefile.write(get_rules().each_rule(), text)
        storage = get_storage()
    storage.close()  # the child ends without Python's exit handlers: SQLite's -wal and -shm go now
    return count


def _read(ctx, param, path):
    """FILE's name for messages, and its bytes: read as the arguments are parsed, before the
    command opens the database (and, run as root, becomes its owner)."""
    with click.open_file(path, "rb") as data:
        return ("stdin" if path == "-" else path), data.read()


@command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True), callback=_read)
@click.option("--replace", is_flag=True, help="Remove every rule first, so the file's rules are all there is.")
def import_(file, replace):
    """Load the rules of FILE (`-` for stdin), all of them or none.

    FILE is what `forwarding export` writes, or a legacy panel forward table:
    {"count": N, "items": [{"apartment": 101, "forward_numbers": ["77469"]}], "version": 1}.
    Each item is checked as the API checks it; the first bad one is named and nothing changes.

    Without --replace the rules are merged: a rule in the file is created or replaced (an empty
    list removes it), the others stay. A rule without a link_id in the file keeps the one it has.
    An import that would leave more than FORWARDING_MAX_RULES rules imports nothing.
    The counts printed are the history's: a rule already as the file has it is unchanged.
    """
    source, content = file
    try:
        kind, rules = rulefile.load(content, current_app.config["MAX_ENTITIES"])
    except rulefile.BadFile as error:
        raise Refused(f"{source}: {error}") from None
    try:
        if len(rules) >= PROGRESS_FROM and sys.stdout.isatty():
            with click.progressbar(rules, label="Importing") as bar:
                counts = get_rules().import_rules(bar, replace)
        else:
            counts = get_rules().import_rules(rules, replace)
    except TooManyRules as error:
        raise Refused(
            f"{source}: it would leave more than {error.limit} rules (FORWARDING_MAX_RULES); nothing was imported"
        ) from None
    click.echo(
        f"Imported {_rules(len(rules))} from {source} ({kind}) into {database_named()}"
        + (", replacing every rule: " if replace else ": ")
        + ", ".join(f"{count} {name}" for name, count in counts._asdict().items())
        + "."
    )


@command("list")
@click.option("--limit", type=WholeNumber(), help="Show only the first LIMIT rules (a whole number, at least 1).")
def list_(limit):
    """Show the rules as a table, in forward_number order."""
    stored = get_rules()
    rows = [
        (str(number), "-" if link_id is None else str(link_id), ", ".join(entities))
        for link_id, number, entities in stored.each_rule(limit)
    ]
    total = stored.count()
    if not total:
        click.echo(f"No rules in {database_named()}.")
        return
    echo_table(("forward_number", "link_id", "forward_entity_list"), rows, ">")
    shown = f"{len(rows)} of {_rules(total)}" if len(rows) < total else _rules(total)
    click.echo(f"{shown} in {database_named()}.")


# -- the support look-ups: one rule, and who changed what, when ---------------------------------

_NUMBER = WholeNumber(1, INT64_MAX)


def _state(rule):
    """A rule before or after a change, in one cell: its entries, then its link_id if it has one."""
    if rule is None:
        return "-"
    link_id, entities = rule
    return ", ".join(entities) + ("" if link_id is None else f" (link_id {link_id})")


@command("show")
@click.argument("forward_number", type=_NUMBER)
def show(forward_number):
    """Show the rule of FORWARD_NUMBER (the apartment) as it is now."""
    rule = get_rules().rule(forward_number)
    if rule is None:
        raise Refused(f"no rule for forward_number {forward_number} in {database_named()}")
    link_id, entities = rule
    row = (str(forward_number), "-" if link_id is None else str(link_id), ", ".join(entities))
    echo_table(("forward_number", "link_id", "forward_entity_list"), [row], ">")


@command("history")
@click.option("--number", type=_NUMBER, help="Only the changes to the rule of this forward_number.")
@click.option("--link-id", type=_NUMBER, help="Only the changes whose rule had this link_id before or after.")
@click.option(
    "--limit", type=WholeNumber(1, 1000), default=20, show_default=True, help="Show the newest LIMIT (1 to 1000)."
)
def history(number, link_id, limit):
    """Show the changes to the rules, newest first: when, by which path, and the rule before and after.

    The source is `link` (a Link push), `item` (one rule), `delete` and `delete_link` (the
    deletes), or `import`; the request id is the one in the service's log and in the answer's
    X-Request-ID header. The history keeps the newest FORWARDING_HISTORY_LIMIT changes.
    """
    total, changes = get_rules().history(limit, 1, number, link_id)
    if not total:
        click.echo(f"No changes in {database_named()}.")
        return
    header = ("id", "time", "source", "request_id", "forward_number", "action", "before", "after")
    rows = [
        (
            str(change.id),
            throttle.local_time(change.time_ms / 1000),
            change.source.value,
            change.request_id or "-",
            str(change.forward_number),
            change.action.value,
            _state(change.before),
            _state(change.after),
        )
        for change in changes
    ]
    echo_table(header, rows, "><<<><<")
    shown = counted(total, "change")
    click.echo(
        f"{len(rows)} of {shown} in {database_named()}." if len(rows) < total else f"{shown} in {database_named()}."
    )


def _rules(count):
    return counted(count, "rule")
