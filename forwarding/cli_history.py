"""The operator's look-ups: `forwarding show N` (one rule) and `forwarding history` (who changed what, when).

Times are shown in the operator's local time zone with its offset, as `forwarding blocks` and the
log show them, so that they read as the clock on the wall and still convert exactly to the API's UTC.
"""

import click

from . import messages
from .cli import _counted, _database, _echo_table, command
from .db import get_repo
from .limits import INT64_MAX
from .throttle import local_time

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
    rule = get_repo().rule(forward_number)
    if rule is None:
        raise click.ClickException(f"no rule for forward_number {forward_number} in {_database()}")
    link_id, entities = rule
    row = (str(forward_number), "-" if link_id is None else str(link_id), ", ".join(entities))
    _echo_table(("forward_number", "link_id", "forward_entity_list"), [row], ">")


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
    total, changes = get_repo().history(limit, 1, number, link_id)
    if not total:
        click.echo(f"No changes in {_database()}.")
        return
    header = ("id", "time", "source", "request_id", "forward_number", "action", "before", "after")
    rows = [
        (
            str(change.id),
            local_time(change.time_ms / 1000),
            messages.SOURCES[change.source],
            change.request_id or "-",
            str(change.forward_number),
            messages.EXTENDED_INFO[change.action],
            _state(change.before),
            _state(change.after),
        )
        for change in changes
    ]
    _echo_table(header, rows, "><<<><<")
    shown = _counted(total, "change")
    click.echo(f"{len(rows)} of {shown} in {_database()}." if len(rows) < total else f"{shown} in {_database()}.")
