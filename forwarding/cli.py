"""Operator commands: `forwarding <command>`.

Each works on the database of the settings in force (`FORWARDING_*`, from the environment or
`--env-file`), like the service itself. A command is a function registered with `@command(name)`:
it runs inside the app's context, so `get_repo()` and `current_app` work as in a request.
"""

import contextlib
import functools
import ipaddress
import os
import sys
import tempfile
import time
from collections import Counter

import click
from flask import current_app

from . import (
    FACTORY_PASSWORD_WARNING,
    UnusableDatabase,
    config,
    create_app,
    credentials,
    envfile,
    messages,
    rulefile,
    throttle,
)
from .db import get_repo
from .limits import INT64_MAX
from .repository import Outcome

# An import this large shows a progress bar of its writing on a terminal: it takes seconds.
PROGRESS_FROM = 10_000


class Session:
    """What the commands of one invocation share (the click context's `obj`): the environment
    they read the settings from, and the app, made on first use (tests pass their own)."""

    def __init__(self, app=None, environ=None):
        self.app = app
        self.database_was_there = True
        self.environ = os.environ if environ is None else environ


@click.group(help="Operate the call-forward rules service.")
@click.version_option(package_name="forwarding", message="%(prog)s %(version)s")
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


def _database():
    return os.path.abspath(current_app.config["DATABASE"])


@command("init", creates_database=True)
def init():
    """Create the database, unless it is there (the service also creates it when it first starts)."""
    if click.get_current_context().find_object(Session).database_was_there:
        click.echo(f"The database {_database()} is there already: nothing to do.")
    else:
        click.echo(f"Created the database {_database()}.")
    _warn_of_the_factory_password()


@command("set-password")
@click.option("--username", help="Rename the account too (default: keep its name).")
@click.option("--password", help="The new password. Other users see it in `ps`: prefer the prompt or --password-stdin.")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin, one line (for scripts).")
def set_password(username, password, password_stdin):
    """Change the administrator's password.

    Without --password or --password-stdin it is asked for twice, on a terminal. At least 8
    characters, and not the factory password. Every login token is revoked; HTTP Basic takes
    the new password at once.
    """
    if username is not None and (problem := credentials.username_problem(username)):
        raise BadInput(f"--username: {problem}")
    password = _new_password(password, password_stdin)
    repo = get_repo()
    before = repo.account().username
    username = username or before
    revoked = repo.set_account(username, credentials.hash_password(password))
    current_app.logger.info("password of account %r changed; %s revoked", username, _tokens(revoked))
    click.echo(f"Password of {username!r} changed; {_tokens(revoked)} revoked: every client must log in again.")
    # Its login blocks go too: they kept out guesses at the old password, and now the right one.
    addresses = repo.login_failure_addresses()
    keys = [throttle.key(name, address) for name in {before, username} for address in addresses]
    if lifted := repo.lift_login_blocks(time.time(), keys=keys):
        current_app.logger.info("%s of account %r lifted", _blocks(lifted), username)
        click.echo(f"Lifted {_blocks(lifted)} of {username!r}.")


def _new_password(given, from_stdin):
    if from_stdin:
        return _acceptable(sys.stdin.readline().removesuffix("\n").removesuffix("\r"))
    if given is not None:
        return _acceptable(given)
    if not _stdin_is_terminal():
        # getpass would read the pipe with a warning that the input may be echoed.
        raise BadInput("stdin is not a terminal: give the password on stdin with --password-stdin")
    # An empty answer is refused with a reason, not asked again without a word.
    password = _acceptable(click.prompt("New password", hide_input=True, default="", show_default=False))
    if click.prompt("Repeat it", hide_input=True, default="", show_default=False) != password:
        raise BadInput("the two passwords differ: nothing changed")
    return password


def _acceptable(password):
    if problem := credentials.password_problem(password):
        raise BadInput(problem)
    return password


def _stdin_is_terminal():
    return sys.stdin.isatty()


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
        count = rulefile.write(get_repo().each_rule(), out)
    # Beside an export to stdout, on stderr: the export stays the file alone.
    click.echo(f"Exported {_rules(count)} from {_database()}" + (f" to {output}." if output else "."), err=not output)


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
    """
    source = "stdin" if file == "-" else file
    with click.open_file(file, "rb") as data:
        content = data.read()
    try:
        kind, rules = rulefile.load(content, current_app.config["MAX_ENTITIES"])
    except rulefile.BadFile as error:
        raise click.ClickException(f"{source}: {error}") from None
    repo = get_repo()
    if len(rules) >= PROGRESS_FROM and sys.stdout.isatty():
        with click.progressbar(rules, label="Importing") as bar:
            removed, outcomes = repo.import_rules(bar, replace)
    else:
        removed, outcomes = repo.import_rules(rules, replace)
    counts = Counter(outcomes)
    click.echo(
        (f"Removed {_rules(removed)}, then imported" if replace else "Imported")
        + f" {_rules(len(rules))} from {source} ({kind}) into {_database()}: {counts[Outcome.CREATED]} created,"
        + f" {counts[Outcome.UPDATED]} updated, {counts[Outcome.DELETED]} deleted."
    )


@command("list")
@click.option("--limit", type=click.IntRange(min=1), help="Show only the first LIMIT rules.")
def list_(limit):
    """Show the rules as a table, in forward_number order."""
    repo = get_repo()
    rows = [
        (str(number), "-" if link_id is None else str(link_id), ", ".join(entities))
        for link_id, number, entities in repo.each_rule(limit)
    ]
    total = repo.count_rules()
    if not total:
        click.echo(f"No rules in {_database()}.")
        return
    _echo_table(("forward_number", "link_id", "forward_entity_list"), rows, ">")
    shown = f"{len(rows)} of {_rules(total)}" if len(rows) < total else _rules(total)
    click.echo(f"{shown} in {_database()}.")


@command("revoke-tokens")
def revoke_tokens():
    """Log every client out: delete all login tokens (HTTP Basic keeps working)."""
    count = get_repo().revoke_tokens()
    current_app.logger.info("%s revoked", _tokens(count))
    click.echo(f"Revoked {_tokens(count)}.")


@command("blocks")
def blocks():
    """List the login blocks in force, by address.

    After FORWARDING_LOGIN_MAX_FAILURES failed logins (or HTTP Basic checks) for one username
    from one address, that username's attempts from that address are refused, even with the
    right password, until the time shown. After FORWARDING_LOGIN_ADDRESS_MAX_FAILURES from one
    address, whatever the usernames, every password check from it is. `forwarding unblock`
    lifts them.
    """
    now, repo = time.time(), get_repo()
    rows = [
        ("-" if address is None else address, throttle.local_time(until), _counted(count, "username"))
        for address, until, count in repo.login_blocks(now)
    ] + [
        (address, throttle.local_time(until), "every password check")
        for address, until in repo.rationed_addresses(now, *_rationing())
    ]
    if not rows:
        click.echo(f"No login blocks in force in {_database()}.")
        return
    rows.sort()
    _echo_table(("address", "blocked until", "refused"), rows, "<")
    addresses = len({address for address, _, _ in rows})
    click.echo(f"{_counted(addresses, 'address', 'addresses')} blocked in {_database()}.")


def _rationing():
    return current_app.config["LOGIN_ADDRESS_MAX_FAILURES"], current_app.config["LOGIN_ADDRESS_WINDOW_SECONDS"]


@command("unblock")
@click.argument("address", required=False)
@click.option("--all", "everyone", is_flag=True, help="Lift every block, of every address.")
def unblock(address, everyone):
    """Lift the login blocks of ADDRESS (every username's), or of all addresses with --all.

    Their counts of failed attempts start afresh too.
    """
    if everyone == (address is not None):
        raise BadInput("give an ADDRESS or --all, not both" if everyone else "give an ADDRESS, or --all")
    if address is not None:
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            raise BadInput(f"{address!r} is not an IP address") from None
    now, repo = time.time(), get_repo()
    lifted = repo.lift_login_blocks(now, address=address) + repo.lift_rationing(now, *_rationing(), address=address)
    whose = "every address" if everyone else address
    current_app.logger.info("%s of %s lifted", _blocks(lifted), whose)
    click.echo(f"Lifted {_blocks(lifted)} of {whose}.")


@command("config")
def show_config():
    """Show the settings in force, as FORWARDING_* variables."""
    click.echo(f"# the database: {_database()}")
    _warn_of_the_factory_password()
    for name in config.DEFAULTS:
        click.echo(f"FORWARDING_{name}={current_app.config[name]}")


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
            throttle.local_time(change.time_ms / 1000),
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


def _echo_table(header, rows, align):
    """Rows of columns: all but the last padded to their widest and aligned by `align` ("<" or
    ">" for them all, or one of those per column), the last as it is."""
    aligns = align * (len(header) - 1) if len(align) == 1 else align
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header) - 1)]
    for row in [header, *rows]:
        click.echo("  ".join([*(f"{cell:{a}{w}}" for cell, a, w in zip(row, aligns, widths)), row[-1]]))


def _warn_of_the_factory_password():
    if get_repo().account().is_default:
        click.echo(f"Warning: {FACTORY_PASSWORD_WARNING}", err=True)


def _counted(count, noun, plural=None):
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _tokens(count):
    return _counted(count, "token")


def _blocks(count):
    return _counted(count, "login block")


def _rules(count):
    return _counted(count, "rule")
