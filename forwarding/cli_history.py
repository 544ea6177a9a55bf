"""The operator's look-ups: `forwarding show N` (one rule) and `forwarding history` (who changed what, when).

Times are shown in the operator's local time zone, with its offset, so that they read as the
clock on the wall and still convert exactly to the API's UTC.
"""

from datetime import datetime

import click
from flask.cli import with_appcontext

from . import messages
from .db import get_repo
from .limits import INT64_MAX

_NUMBER = click.IntRange(1, INT64_MAX)


def local_time(time_ms):
    """`2026-11-30 11:15:04 +0100`: the time in this machine's zone, to the second, with its offset."""
    return f"{datetime.fromtimestamp(time_ms // 1000).astimezone():%Y-%m-%d %H:%M:%S %z}"


def _state(rule):
    """A rule before or after a change, in one cell: its entries, then its link_id if it has one."""
    if rule is None:
        return "-"
    link_id, entities = rule
    return ", ".join(entities) + ("" if link_id is None else f" (link_id {link_id})")


def _echo_table(header, rows, right=()):
    """Columns as wide as their widest cell, the last one unpadded; the columns in `right` right-aligned."""
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths))
        ]
        click.echo("  ".join([*cells, row[-1]]))


@click.command("show")
@click.argument("forward_number", type=_NUMBER)
@with_appcontext
def show(forward_number):
    """Show the rule of FORWARD_NUMBER (the apartment) as it is now."""
    rule = get_repo().rule(forward_number)
    if rule is None:
        raise click.ClickException(f"no rule for forward_number {forward_number}")
    link_id, entities = rule
    header = ("forward_number", "link_id", "forward_entity_list")
    _echo_table(
        header, [(str(forward_number), "-" if link_id is None else str(link_id), ", ".join(entities))], right={0, 1}
    )


@click.command("history")
@click.option("--number", type=_NUMBER, help="Only the changes to the rule of this forward_number.")
@click.option("--link-id", type=_NUMBER, help="Only the changes whose rule had this link_id before or after.")
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Show the newest LIMIT changes."
)
@with_appcontext
def history(number, link_id, limit):
    """Show the changes to the rules, newest first: when, by which path, and the rule before and after.

    The source is `link` (a Link push), `item` (one rule), `delete` and `delete_link` (the
    deletes), or `import`; the request id is the one in the service's log and in the answer's
    X-Request-ID header. The history keeps the newest FORWARDING_HISTORY_LIMIT changes.
    """
    total, changes = get_repo().history(limit, 1, number, link_id)
    if not total:
        click.echo("No changes.")
        return
    header = ("id", "time", "source", "request_id", "forward_number", "action", "before", "after")
    rows = [
        (
            str(change.id),
            local_time(change.time_ms),
            messages.SOURCES[change.source],
            change.request_id or "-",
            str(change.forward_number),
            messages.EXTENDED_INFO[change.action],
            _state(change.before),
            _state(change.after),
        )
        for change in changes
    ]
    _echo_table(header, rows, right={0, 4})
    noun = "change" if total == 1 else "changes"
    click.echo(f"{len(rows)} of {total} {noun}." if len(rows) < total else f"{total} {noun}.")


COMMANDS = (show, history)
