"""The commands on access: set-password, revoke-tokens, blocks, unblock."""

import getpass  # noqa: F401  click imports it at its first prompt, by then perhaps as another user
import ipaddress
import sys
import time

import click
from flask import current_app

from .. import clientaddress, credentials, throttle
from ..db import get_access
from . import BadUsage, Refused, command, counted, database_named, echo_table


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
        raise BadUsage(f"--username: {problem}")
    password = _new_password(password, password_stdin)
    access = get_access()
    before = access.account().username
    username = username or before
    revoked = access.set_account(username, credentials.hash_password(password))
    click.echo(
        f"Password of {username!r} changed in {database_named()}; {_tokens(revoked)} revoked:"
        " every client must log in again."
    )
    # Its login blocks go too: they kept out guesses at the old password, and now the right one.
    addresses = access.login_failure_addresses()
    keys = [throttle.key(name, address) for name in {before, username} for address in addresses]
    if lifted := access.lift_login_blocks(time.time(), keys=keys):
        click.echo(f"Lifted {_blocks(lifted)} of {username!r}.")


def _new_password(given, from_stdin):
    if from_stdin:
        return _acceptable(sys.stdin.readline().removesuffix("\n").removesuffix("\r"))
    if given is not None:
        return _acceptable(given)
    if not _stdin_is_terminal():
        # getpass would read the pipe with a warning that the input may be echoed.
        raise BadUsage("stdin is not a terminal: give the password on stdin with --password-stdin")
    # An empty answer is refused with a reason, not asked again without a word.
    password = _acceptable(click.prompt("New password", hide_input=True, default="", show_default=False))
    if click.prompt("Repeat it", hide_input=True, default="", show_default=False) != password:
        raise Refused("the two passwords differ: nothing changed")
    return password


def _acceptable(password):
    if problem := credentials.password_problem(password):
        raise Refused(problem)
    return password


def _stdin_is_terminal():
    return sys.stdin.isatty()


@command("revoke-tokens")
def revoke_tokens():
    """Log every client out: delete all login tokens (HTTP Basic keeps working)."""
    count = get_access().revoke_tokens()
    click.echo(f"Revoked {_tokens(count)} in {database_named()}.")


@command("blocks")
def blocks():
    """List the login blocks in force, by address.

    After FORWARDING_LOGIN_MAX_FAILURES failed logins (or HTTP Basic checks) for one username
    from one address, that username's attempts from that address are refused, even with the
    right password, until the time shown, but for 3 an hour, which are checked. After
    FORWARDING_LOGIN_ADDRESS_MAX_FAILURES from one address, whatever the usernames, every
    password check from it is, the account's username's too. An IPv6 address counts by
    its /64. `forwarding unblock` lifts them.
    """
    now, access = time.time(), get_access()
    rows = [
        ("-" if address is None else address, throttle.local_time(until), counted(count, "username"))
        for address, until, count in access.login_blocks(now)
    ] + [
        (address, throttle.local_time(until), "every password check")
        for address, until in access.rationed_addresses(now, *_rationing())
    ]
    if not rows:
        click.echo(f"No login blocks in force in {database_named()}.")
        return
    rows.sort()
    echo_table(("address", "blocked until", "refused"), rows, "<")
    addresses = len({address for address, _, _ in rows})
    click.echo(f"{counted(addresses, 'address', 'addresses')} blocked in {database_named()}.")


def _rationing():
    return current_app.config["LOGIN_ADDRESS_MAX_FAILURES"], current_app.config["LOGIN_ADDRESS_WINDOW_SECONDS"]


@command("unblock")
@click.argument("address", required=False)
@click.option("--all", "everyone", is_flag=True, help="Lift every block, of every address.")
def unblock(address, everyone):
    """Lift the login blocks of ADDRESS (every username's), or of all addresses with --all.

    An IPv6 address is counted by its /64, and lifts that /64's blocks; the /64 itself, as
    `forwarding blocks` shows it, does too. Their counts of failed attempts start afresh too.
    """
    if everyone == (address is not None):
        raise BadUsage("give an ADDRESS or --all, not both" if everyone else "give an ADDRESS, or --all")
    if address is not None:
        address = _client(address)
    now, access = time.time(), get_access()
    lifted = access.lift_login_blocks(now, address=address) + access.lift_rationing(now, *_rationing(), address=address)
    whose = "every address" if everyone else address
    click.echo(f"Lifted {_blocks(lifted)} of {whose} in {database_named()}.")


def _client(text):
    """What the blocks of the address `text` are counted by (clientaddress.py), or of a /64 as listed."""
    client = clientaddress.client_network(clientaddress.parse(text))
    if client != clientaddress.INVALID:
        return client
    try:
        network = ipaddress.IPv6Network(text)
    except ValueError:
        network = None
    if network is None or network.prefixlen != clientaddress.IPV6_CLIENT_PREFIX:
        raise BadUsage(f"ADDRESS must be an IP address, not {text!r}")
    return str(network)


def _tokens(count):
    return counted(count, "token")


def _blocks(count):
    return counted(count, "login block")
