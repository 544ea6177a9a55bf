"""What uWSGI's start prints: one line for a setting or a database it cannot use, no traceback;
a warning once per start of the master, not per worker (wsgi.ini has the master check the
settings and the database, forwarding/startcheck.py)."""

import os
import platform
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing

import pytest

from tests.e2e.deployment import ROOT, START_TIMEOUT, http_uwsgi

pytestmark = pytest.mark.e2e


def start_failing(programs, tmp_path, **settings):
    """uWSGI started with `settings` on a free port: its exit status and its log, once it gave up."""
    uwsgi, _ = http_uwsgi(programs[1], tmp_path, **settings)
    with open(uwsgi.log_path, "wb") as log:
        process = subprocess.Popen(
            [programs[1], "--ini", str(ROOT / "wsgi.ini")],
            cwd=ROOT,
            env=uwsgi.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        return process.wait(START_TIMEOUT), uwsgi.log()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def ours(log):
    return [line for line in log.splitlines() if line.startswith("forwarding:") or "Traceback" in line]


def refused_unwritten(programs, tmp_path, database):
    """Our lines of uWSGI's start on `database`, which it must refuse, no worker started and the
    file as it was."""
    before = database.read_bytes()
    status, log = start_failing(programs, tmp_path, FORWARDING_DATABASE=str(database))
    assert status != 0
    assert "GAME OVER" not in log and "spawned uWSGI worker" not in log
    assert database.read_bytes() == before
    return ours(log)


def test_a_bad_setting_stops_the_start_with_one_line(programs, tmp_path):
    database = tmp_path / "forwarding.db"
    status, log = start_failing(programs, tmp_path, FORWARDING_DATABASE=str(database), FORWARDING_TOKEN_LIFETIME="-5")
    assert status != 0
    assert ours(log) == [
        "forwarding: FORWARDING_TOKEN_LIFETIME is '-5': it must be a whole number of seconds, at least 1; not starting"
    ]
    assert "GAME OVER" not in log and "spawned uWSGI worker" not in log
    assert not database.exists()


def test_a_damaged_database_stops_the_start_with_one_line_and_stays(programs, tmp_path):
    database = tmp_path / "forwarding.db"
    database.write_bytes(b"this is no database\n" * 300)
    status, log = start_failing(programs, tmp_path, FORWARDING_DATABASE=str(database))
    assert status != 0
    assert ours(log) == [f"forwarding: cannot use the database '{database}': file is not a database; not starting"]
    assert "GAME OVER" not in log and "spawned uWSGI worker" not in log
    assert database.read_bytes() == b"this is no database\n" * 300


def test_another_applications_database_stops_the_start_with_one_line_unwritten(programs, tmp_path):
    database = tmp_path / "theirs.db"
    with closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA application_id = 305419896")  # 0x12345678
        db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
    assert refused_unwritten(programs, tmp_path, database) == [
        f"forwarding: cannot use the database '{database}': it is not a forwarding database:"
        " application_id 0x12345678; not starting"
    ]


def test_a_database_of_a_newer_schema_stops_the_start_with_one_line_and_stays(programs, tmp_path):
    database = tmp_path / "forwarding.db"
    with closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA user_version = 99")
    assert refused_unwritten(programs, tmp_path, database) == [
        f"forwarding: cannot use the database '{database}': made by a newer forwarding "
        "(schema 99; this code knows up to 5); not starting"
    ]


def test_a_start_names_the_release_the_schema_the_python_and_the_database_once(programs, tmp_path):
    uwsgi, _ = http_uwsgi(programs[1], tmp_path)
    uwsgi.start()
    try:
        log = uwsgi.log()
    finally:
        uwsgi.stop()
    # Under uWSGI the Python is the library uWSGI loaded: this virtualenv's, as the test runs it.
    started = (
        f"forwarding 1.2.0 (schema 5) starting on Python {platform.python_version()} ({sys.base_prefix}, "
        f"run by {programs[1]}), database {tmp_path / 'forwarding.db'}"
    )
    assert [line.split(" INFO forwarding: ", 1)[1] for line in log.splitlines() if " starting on Python " in line] == [
        started
    ]


def test_a_start_says_what_it_must_once_not_per_worker_or_respawn(programs, tmp_path):
    uwsgi, _ = http_uwsgi(programs[1], tmp_path, FORWARDING_TOKEN_LIFETIM="60")
    uwsgi.start()  # 4 workers, each loading the app (lazy-apps)
    try:
        killed = next(iter(uwsgi.requests_by_worker()))
        os.kill(killed, signal.SIGKILL)
        uwsgi.wait_ready(replacing=killed)
        log = uwsgi.log()
    finally:
        uwsgi.stop()
    assert log.count("WSGI app 0 (mountpoint='') ready") == 5
    assert log.count("the account still has the factory password; change it with `forwarding set-password`") == 1
    assert log.count("FORWARDING_TOKEN_LIFETIM is not a setting of forwarding") == 1
    assert "Traceback" not in log
