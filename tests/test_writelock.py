"""The writers' queue (forwarding/storage/writelock.py): one write transaction at a time, across threads
and processes; a wait bounded by the busy timeout; no lock left behind by a process that dies."""

import os
import sqlite3
import stat
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest

from forwarding.storage import Storage
from forwarding.storage.writelock import WriteLock
from tests.helpers import assert_error, assert_json, stored_rules

BODY = {"forward_entity_list": ["101"]}
# The lock file beside the database (README, "Deploying").
WRITER = "-writer"


@contextmanager
def held(db_path):
    """The write lock, held by a connection that is not the app's."""
    lock = WriteLock(db_path + WRITER, owner_of=db_path)
    lock.acquire(timeout=1)
    try:
        yield
    finally:
        lock.release()
        lock.close()


def test_a_write_waits_for_the_writer_before_it(client, auth, repo, db_path):
    answers = []
    with held(db_path):
        writer = threading.Thread(
            target=lambda: answers.append(client.post("/api/v1/forward/item/7", json=BODY, headers=auth))
        )
        writer.start()
        writer.join(0.3)
        assert writer.is_alive()  # still waiting for the lock
        assert stored_rules(repo) == {}
    writer.join()
    assert_json(answers[0], 200, {})
    assert stored_rules(repo) == {7: (None, ["101"])}


def test_a_write_that_waits_past_the_busy_timeout_is_a_500_that_writes_nothing(make_app, auth, repo, db_path, caplog):
    client = make_app(BUSY_TIMEOUT_MS=100).test_client()
    with held(db_path):
        assert_error(client.post("/api/v1/forward/item/7", json=BODY, headers=auth), 500, "Internal server error")
    assert "database is locked" in caplog.text
    assert stored_rules(repo) == {}
    # Reads never wait for it, and the next write goes through.
    with held(db_path):
        assert client.get("/api/v1/forward/items", headers=auth).status_code == 200
    assert_json(client.post("/api/v1/forward/item/7", json=BODY, headers=auth), 200, {})
    assert stored_rules(repo) == {7: (None, ["101"])}


HOLD_UNTIL_KILLED = """
import sys, time
from forwarding.storage.writelock import WriteLock
WriteLock(sys.argv[1] + "-writer", owner_of=sys.argv[1]).acquire(timeout=1)
print("held", flush=True)
time.sleep(60)
"""


def test_the_lock_of_a_process_that_dies_is_released(make_app, auth, repo, db_path):
    client = make_app(BUSY_TIMEOUT_MS=100).test_client()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_UNTIL_KILLED, db_path], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        assert (
            client.post("/api/v1/forward/item/7", json=BODY, headers=auth).status_code == 500
        )  # another process holds it
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert_json(client.post("/api/v1/forward/item/7", json=BODY, headers=auth), 200, {})
    assert stored_rules(repo) == {7: (None, ["101"])}


@pytest.mark.skipif(os.geteuid() != 0, reason="only root makes files for other users")
def test_a_lock_file_made_by_root_belongs_to_the_database_s_owner(tmp_path):
    database = tmp_path / "forwarding.db"
    Storage(str(database)).close()  # the database, and its lock file, made by root
    os.remove(str(database) + WRITER)
    os.chown(database, 4321, 4322)  # as if the service's own user had made the database
    Storage(str(database)).close()  # an operator's command, as root
    lock_file = os.stat(str(database) + WRITER)
    assert (lock_file.st_uid, lock_file.st_gid) == (4321, 4322)


@pytest.mark.parametrize("link", [os.symlink, os.link])
def test_a_lock_file_that_is_a_link_is_refused_and_its_target_left_alone(tmp_path, link):
    # The directory is the service user's: a root command must not change what a link names.
    database = tmp_path / "forwarding.db"
    Storage(str(database)).close()
    lock_file = str(database) + WRITER
    os.remove(lock_file)
    target = tmp_path / "precious"
    target.write_text("secret\n")
    target.chmod(0o600)
    link(target, lock_file)
    with pytest.raises(sqlite3.OperationalError, match="unable to open the lock file"):
        Storage(str(database))
    assert (target.read_text(), stat.S_IMODE(target.stat().st_mode)) == ("secret\n", 0o600)


def test_a_lock_file_that_is_a_fifo_is_refused_at_once(tmp_path):
    # Opened for reading, a FIFO waits for a writer: a command would hang, not fail.
    database = tmp_path / "forwarding.db"
    Storage(str(database)).close()
    lock_file = str(database) + WRITER
    os.remove(lock_file)
    os.mkfifo(lock_file)
    with pytest.raises(sqlite3.OperationalError, match="unable to open the lock file .*: not a regular file"):
        Storage(str(database))
    assert stat.S_ISFIFO(os.lstat(lock_file).st_mode)
