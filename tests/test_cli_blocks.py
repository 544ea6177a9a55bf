"""Login blocks for the operator: `forwarding blocks` lists them, `forwarding unblock` and
`set-password` lift them (the throttling itself: test_abuse.py)."""

import re
import time

import pytest

from tests.helpers import MD5_123456, WRONG_MD5, assert_error, local, log_in, md5

ADMIN_AWAY, ADMIN_HOME = "203.0.113.7", "2001:db8::1"
HOME_NETWORK = "2001:db8::/64"  # what an IPv6 address is counted by


def login(client, address, password=MD5_123456, username="admin"):
    return log_in(client, username, password, environ_overrides={"REMOTE_ADDR": address})


def block(client, app, address, username="admin"):
    """Block `username` from `address`, and spend the 3 checks an hour its block still lets run."""
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 3):
        login(client, address, WRONG_MD5, username)
    assert_error(login(client, address, username=username), 400, "Wrong login or password")


@pytest.fixture
def blocked(app, client, clock):
    """admin blocked from two addresses (from one, 10 s later), and another username from one."""
    block(client, app, ADMIN_AWAY)
    block(client, app, ADMIN_AWAY, username="guessed")
    clock.advance(10)
    block(client, app, ADMIN_HOME)
    return clock.now


def test_no_blocks(runner, db_path):
    result = runner.invoke(args=["blocks"])
    assert (result.exit_code, result.stdout) == (0, f"No login blocks in force in {db_path}.\n")


def test_blocks_by_address_and_until_when(runner, app, blocked, db_path):
    block_seconds = app.config["LOGIN_BLOCK_SECONDS"]
    away, home = (local(blocked - 10 + block_seconds), local(blocked + block_seconds))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d", away)  # local time, with its offset
    result = runner.invoke(args=["blocks"])
    assert (result.exit_code, result.stdout) == (
        0,
        (
            "address        blocked until              refused\n"
            f"2001:db8::/64  {home}  1 username\n"
            f"203.0.113.7    {away}  2 usernames\n"
            f"2 addresses blocked in {db_path}.\n"
        ),
    )


def test_a_block_that_ended_is_not_listed(runner, app, blocked, clock, db_path):
    clock.advance(app.config["LOGIN_BLOCK_SECONDS"] - 10)
    result = runner.invoke(args=["blocks"])
    assert result.stdout.splitlines()[1:] == [
        f"2001:db8::/64  {local(blocked + app.config['LOGIN_BLOCK_SECONDS'])}  1 username",
        f"1 address blocked in {db_path}.",
    ]


def test_unblock_one_address(runner, client, blocked, db_path):
    result = runner.invoke(args=["unblock", ADMIN_AWAY])
    assert (result.exit_code, result.stdout) == (0, f"Lifted 2 login blocks of {ADMIN_AWAY} in {db_path}.\n")
    assert login(client, ADMIN_AWAY).status_code == 200
    assert_error(login(client, ADMIN_HOME), 400, "Wrong login or password")
    assert (
        runner.invoke(args=["unblock", ADMIN_AWAY]).stdout == f"Lifted 0 login blocks of {ADMIN_AWAY} in {db_path}.\n"
    )


@pytest.mark.parametrize("written", ["2001:0DB8:0::1", "2001:db8::ffff:1", "2001:db8:0:0::/64"])
def test_unblock_takes_an_address_however_written_or_its_64(runner, client, blocked, written, db_path):
    result = runner.invoke(args=["unblock", written])
    assert (result.exit_code, result.stdout) == (0, f"Lifted 1 login block of {HOME_NETWORK} in {db_path}.\n")
    assert login(client, ADMIN_HOME).status_code == 200


def test_an_ipv6_client_is_blocked_by_its_64(app, client, repo):
    for number in range(app.config["LOGIN_MAX_FAILURES"] + 3):  # a new address of the /64 for each
        login(client, f"2001:db8::{number + 100:x}", WRONG_MD5)
    assert_error(login(client, "2001:db8::ffff:ffff:ffff:ffff"), 400, "Wrong login or password")
    assert login(client, "2001:db8:0:1::1").status_code == 200  # the next /64: another client
    rows = repo.database.connection.execute("SELECT address, failures FROM login_failures").fetchall()
    assert rows == [(HOME_NETWORK, 3)]  # while blocked, the checks of the hour


def test_unblock_all(runner, client, blocked, repo, db_path):
    result = runner.invoke(args=["unblock", "--all"])
    assert (result.exit_code, result.stdout) == (0, f"Lifted 3 login blocks of every address in {db_path}.\n")
    assert login(client, ADMIN_AWAY).status_code == 200
    assert login(client, ADMIN_HOME).status_code == 200
    assert repo.database.connection.execute("SELECT count(*) FROM login_failures").fetchone() == (0,)


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "give an ADDRESS, or --all"),
        (["--all", ADMIN_AWAY], "give an ADDRESS or --all, not both"),
        (["203.0.113"], "ADDRESS must be an IP address, not '203.0.113'"),
        (["2001:db8::/48"], "ADDRESS must be an IP address, not '2001:db8::/48'"),
        (["fe80::1%eth0"], "ADDRESS must be an IP address, not 'fe80::1%eth0'"),
    ],
)
def test_unblock_refuses(runner, client, blocked, args, message):
    result = runner.invoke(args=["unblock", *args])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {message}\n")
    assert_error(login(client, ADMIN_AWAY), 400, "Wrong login or password")


def test_set_password_lifts_the_accounts_blocks(runner, client, blocked):
    result = runner.invoke(args=["set-password", "--password", "a-new-password"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == "Lifted 2 login blocks of 'admin'."
    for address in (ADMIN_AWAY, ADMIN_HOME):
        assert login(client, address, md5("a-new-password")).status_code == 200
    # Another username's block stays: it is not the account's.
    assert runner.invoke(args=["blocks"]).stdout.splitlines()[1].startswith(f"{ADMIN_AWAY}  ")


def test_a_database_from_before_gets_the_address_column(make_app, db_path, repo, runner):
    db = repo.database.connection
    db.execute("ALTER TABLE login_failures DROP COLUMN address")
    db.execute("PRAGMA user_version = 1")  # the column came within schema 1
    db.execute("INSERT INTO login_failures VALUES ('k', 0, 0, ?)", (time.time() + 100,))  # without an address
    make_app()
    columns = [row[1] for row in db.execute("PRAGMA table_info(login_failures)")]
    assert columns == ["key", "failures", "window_start", "blocked_until", "address"]
    result = runner.invoke(args=["blocks"])
    assert result.stdout.splitlines()[1].startswith("-        "), result.output


def test_a_rationed_address_is_listed_and_lifted(runner, app, client, clock, db_path):
    app.config.update(LOGIN_ADDRESS_MAX_FAILURES=3, LOGIN_ADDRESS_WINDOW_SECONDS=60)
    for number in range(3):  # fresh usernames: no username's own block
        login(client, ADMIN_AWAY, WRONG_MD5, username=f"guess{number}")
    assert_error(login(client, ADMIN_AWAY, username="root"), 400, "Wrong login or password")
    result = runner.invoke(args=["blocks"])
    assert (result.exit_code, result.stdout) == (
        0,
        (
            "address      blocked until              refused\n"
            f"203.0.113.7  {local(clock.now + 60)}  every password check\n"
            f"1 address blocked in {db_path}.\n"
        ),
    )
    result = runner.invoke(args=["unblock", ADMIN_AWAY])
    assert (result.exit_code, result.stdout) == (0, f"Lifted 1 login block of {ADMIN_AWAY} in {db_path}.\n")
    assert login(client, ADMIN_AWAY).status_code == 200
    assert runner.invoke(args=["blocks"]).stdout == f"No login blocks in force in {db_path}.\n"
