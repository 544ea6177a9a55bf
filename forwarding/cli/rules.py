"""The commands on the rules and their history: init, export, import, list, show, history."""

import contextlib
import os
import sys
import tempfile
from collections import Counter

import click
from flask import current_app

from .. import rulefile, throttle
from ..db import get_rules
from ..limits import INT64_MAX
from ..storage.rules import Outcome, TooManyRules
from . import Session, command, counted, database_path, echo_table, warn_of_the_factory_password

# An import this large shows a progress bar of its writing on a terminal: it takes seconds.
PROGRESS_FROM = 10_000


@command("init", creates_database=True)
def init():
    """Create the database, unless it is there (the service also creates it when it first starts)."""
    if click.get_current_context().find_object(Session).database_was_there:
        click.echo(f"The database {database_path()} is there already: nothing to do.")
    else:
        click.echo(f"Created the database {database_path()}.")
    warn_of_the_factory_password()


@command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file (replaced whole, only when done; not a symbolic link) instead of stdout.",
)
def export(output):
    """Write every rule, with its link_id, as JSON.

    The format: {"version": 1, "items": [{"link_id": 7, "forward_number": 101,
    "forward_entity_list": ["101"]}, ...]}, one item a line in forward_number order, without
    `link_id` for a rule that has none. `forwarding import` reads it back.
    """
    with click.open_file("-", "w") if output is None else _replacing(output) as out:
        count = rulefile.write(get_rules().each_rule(), out)
    # Beside an export to stdout, on stderr: the export stays the file alone.
    click.echo(
        f"Exported {_rules(count)} from {database_path()}" + (f" to {output}." if output else "."), err=not output
    )


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


@command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--replace", is_flag=True, help="Remove every rule first, so the file's rules are all there is.")
def import_(file, replace):
    """Load the rules of FILE (`-` for stdin), all of them or none.

    FILE is what `forwarding export` writes, or a legacy panel forward table:
    {"count": N, "items": [{"apartment": 101, "forward_numbers": ["77469"]}], "version": 1}.
    Each item is checked as the API checks it; the first bad one is named and nothing changes.

    Without --replace the rules are merged: a rule in the file is created or replaced (an empty
    list removes it), the others stay. A rule without a link_id in the file keeps the one it has.
    An import that would leave more than FORWARDING_MAX_RULES rules imports nothing.
    """
    source = "stdin" if file == "-" else file
    with click.open_file(file, "rb") as data:
        content = data.read()
    try:
        kind, rules = rulefile.load(content, current_app.config["MAX_ENTITIES"])
    except rulefile.BadFile as error:
        raise click.ClickException(f"{source}: {error}") from None
    try:
        if len(rules) >= PROGRESS_FROM and sys.stdout.isatty():
            with click.progressbar(rules, label="Importing") as bar:
                removed, outcomes = get_rules().import_rules(bar, replace)
        else:
            removed, outcomes = get_rules().import_rules(rules, replace)
    except TooManyRules as error:
        raise click.ClickException(
            f"{source}: it would leave more than {error.limit} rules (FORWARDING_MAX_RULES); nothing was imported"
        ) from None
    counts = Counter(outcomes)
    click.echo(
        (f"Removed {_rules(removed)}, then imported" if replace else "Imported")
        + f" {_rules(len(rules))} from {source} ({kind}) into {database_path()}: {counts[Outcome.CREATED]} created,"
        + f" {counts[Outcome.UPDATED]} updated, {counts[Outcome.DELETED]} deleted."
    )


@command("list")
@click.option("--limit", type=click.IntRange(min=1), help="Show only the first LIMIT rules.")
def list_(limit):
    """Show the rules as a table, in forward_number order."""
    stored = get_rules()
    rows = [
        (str(number), "-" if link_id is None else str(link_id), ", ".join(entities))
        for link_id, number, entities in stored.each_rule(limit)
    ]
    total = stored.count()
    if not total:
        click.echo(f"No rules in {database_path()}.")
        return
    echo_table(("forward_number", "link_id", "forward_entity_list"), rows, ">")
    shown = f"{len(rows)} of {_rules(total)}" if len(rows) < total else _rules(total)
    click.echo(f"{shown} in {database_path()}.")


# -- the support look-ups: one rule, and who changed what, when ---------------------------------

_NUMBER = click.IntRange(1, INT64_MAX)


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
        raise click.ClickException(f"no rule for forward_number {forward_number} in {database_path()}")
    link_id, entities = rule
    row = (str(forward_number), "-" if link_id is None else str(link_id), ", ".join(entities))
    echo_table(("forward_number", "link_id", "forward_entity_list"), [row], ">")


@command("history")
@click.option("--number", type=_NUMBER, help="Only the changes to the rule of this forward_number.")
@click.option("--link-id", type=_NUMBER, help="Only the changes whose rule had this link_id before or after.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Show the newest LIMIT.")
def history(number, link_id, limit):
    """Show the changes to the rules, newest first: when, by which path, and the rule before and after.

    The source is `link` (a Link push), `item` (one rule), `delete` and `delete_link` (the
    deletes), or `import`; the request id is the one in the service's log and in the answer's
    X-Request-ID header. The history keeps the newest FORWARDING_HISTORY_LIMIT changes.
    """
    total, changes = get_rules().history(limit, 1, number, link_id)
    if not total:
        click.echo(f"No changes in {database_path()}.")
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
        f"{len(rows)} of {shown} in {database_path()}." if len(rows) < total else f"{shown} in {database_path()}."
    )


def _rules(count):
    return counted(count, "rule")
