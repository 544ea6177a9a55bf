"""Password checks capped for the whole service (forwarding/auth.py, slots.py): while every slot
file is held, by any process, a password is not checked, and the answer is a wrong password's."""

import fcntl
import os
import stat
import subprocess
import sys
from contextlib import contextmanager

import pytest

from tests.helpers import ITEMS, assert_error, basic, log_in

# What a client sees of a wrong password, and so of an attempt refused unchecked.
WRONG_BASIC = (401, {"error": "Log In"})
WRONG_LOGIN = (400, {"error": "Wrong login or password"})


def seen(response):
    return response.status_code, response.get_json()


@contextmanager
def held(path):
    """The slot file at `path` held, as another worker checking a password holds it."""
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


def failures(repo):
    db = repo.database.connection
    return (
        db.execute("SELECT count(*) FROM login_failures").fetchone()[0],
        db.execute("SELECT count(*) FROM address_failures").fetchone()[0],
    )


def test_one_password_check_at_a_time_by_default(app, client, db_path, auth, repo, checks, caplog):
    assert app.config["PASSWORD_CHECKS"] == 1
    with held(db_path + "-hash.0"):
        assert seen(client.get(ITEMS, headers=basic("admin", "123456"))) == WRONG_BASIC
        assert seen(log_in(client)) == WRONG_LOGIN
        assert seen(client.get(ITEMS, headers=basic("fresh", "wrong"))) == WRONG_BASIC
        # Tokens need no password check.
        answer = client.get(ITEMS, headers=auth)
        assert (answer.status_code, answer.get_json()["list_items"]) == (200, [])
    assert checks == []
    assert failures(repo) == (0, 0)  # an attempt refused unchecked counts as no failure
    assert (
        caplog.text.count(
            "attempt for username 'admin' from 127.0.0.1 refused unchecked: all 1 password check slots in use"
        )
        == 2
    )
    assert "attempt for another username from 127.0.0.1 refused unchecked: all 1 password check slots in use" in (
        caplog.text
    )
    assert "fresh" not in caplog.text and "123456" not in caplog.text
    # A slot free, the password is checked again.
    assert log_in(client).status_code == 200
    assert len(checks) == 1


def test_the_bound_comes_from_the_config(make_app, db_path, checks):
    client = make_app(PASSWORD_CHECKS=2).test_client()
    with held(db_path + "-hash.0"):
        assert log_in(client).status_code == 200
        with held(db_path + "-hash.1"):
            assert seen(log_in(client)) == WRONG_LOGIN
    assert len(checks) == 1


HOLD_UNTIL_KILLED = """
import sys, time
from forwarding.slots import Slots
with Slots(sys.argv[1] + "-hash", 1, owner_of=sys.argv[1]).try_take() as free:
    print("held" if free else "not free", flush=True)
    time.sleep(60)
"""


def test_the_slot_of_a_process_that_dies_is_freed(client, db_path, checks):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_UNTIL_KILLED, db_path], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        assert seen(log_in(client)) == WRONG_LOGIN
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert log_in(client).status_code == 200
    assert len(checks) == 1


def test_slot_files_take_the_database_s_mode(make_app, db_path):
    os.chmod(db_path, 0o640)
    client = make_app(PASSWORD_CHECKS=2).test_client()
    assert log_in(client).status_code == 200
    assert stat.S_IMODE(os.stat(db_path + "-hash.0").st_mode) == 0o640
    assert not os.path.exists(db_path + "-hash.1")  # made when first tried
    with held(db_path + "-hash.0"):
        assert log_in(client).status_code == 200
    assert stat.S_IMODE(os.stat(db_path + "-hash.1").st_mode) == 0o640


@pytest.mark.parametrize("link", [os.symlink, os.link])
def test_a_slot_file_that_is_a_link_is_refused_and_its_target_left_alone(tmp_path, db_path, client, checks, link):
    target = tmp_path / "precious"
    target.write_text("secret\n")
    target.chmod(0o600)
    link(target, db_path + "-hash.0")
    assert_error(log_in(client), 500, "Internal server error")
    assert checks == []
    assert (target.read_text(), stat.S_IMODE(target.stat().st_mode)) == ("secret\n", 0o600)
