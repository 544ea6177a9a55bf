"""The drills of `forwarding backup` and `forwarding restore` (README, "Backups"), with the real
command against the running service: a backup taken while clients write holds every write
acknowledged before it began; a restore while the service runs is what every worker answers
from at once, and a bad file changes nothing."""

import http.client
import re
import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest

from tests.e2e.deployment import http_uwsgi, program, request, stored
from tests.helpers import bearer, md5

pytestmark = pytest.mark.e2e

TIMEOUT = 30  # seconds for any one step
PROCESSES = 3
FIRST_PASSWORD = "drill-password-1"
SECOND_PASSWORD = "drill-password-2"


@pytest.fixture
def service(programs, tmp_path):
    """`(uwsgi, port, run)`: uWSGI serving HTTP with several workers over a database in
    `tmp_path/state`, and `run(*args)`, the installed `forwarding` command on that database."""
    forwarding = program("forwarding", "pip install -e .")
    (tmp_path / "state").mkdir()
    uwsgi, port = http_uwsgi(
        programs[1],
        tmp_path,
        FORWARDING_DATABASE=str(tmp_path / "state" / "forwarding.db"),
        FORWARDING_PROCESSES=str(PROCESSES),
    )
    uwsgi.start()

    def run(*args, input=None):
        return subprocess.run(
            [forwarding, *args], env=uwsgi.env, input=input, capture_output=True, text=True, timeout=TIMEOUT
        )

    yield uwsgi, port, run
    uwsgi.stop()


def log_in(port, password):
    response = request(port, "GET", f"/api/v1/login?username=admin&password={md5(password)}", timeout=TIMEOUT)
    return response.status, response.json().get("token")


def set_password(run, password):
    outcome = run("set-password", "--password-stdin", input=password + "\n")
    assert outcome.returncode == 0, outcome.stderr


class Writer(threading.Thread):
    """Single-rule POSTs, each to a rule of its own, until told to stop; each acknowledged write
    noted with the time its 200 came."""

    def __init__(self, port, token, first_number):
        super().__init__(daemon=True)
        self.port, self.token, self.number = port, token, first_number
        self.stop = threading.Event()
        self.acknowledged = []  # (monotonic time of the 200, forward_number, entities)
        self.refused = []

    def run(self):
        while not self.stop.is_set():
            self.number += 1
            entities = [f"sip:{self.number}@sip.bas-ip.com"]
            path = f"/api/v1/forward/item/{self.number}"
            try:
                response = request(self.port, "POST", path, {"forward_entity_list": entities}, bearer(self.token), 10)
            except (OSError, http.client.HTTPException) as error:
                self.refused.append(error)
                return
            if response.status == 200:
                self.acknowledged.append((time.monotonic(), self.number, entities))
            else:
                self.refused.append(response)


def test_a_backup_under_writes_holds_every_write_acknowledged_before_it(service, tmp_path):
    uwsgi, port, run = service
    _, token = log_in(port, "123456")
    writers = [Writer(port, token, 10**6 * k) for k in range(1, 5)]
    for writer in writers:
        writer.start()
    time.sleep(1.5)
    began = time.monotonic()
    backup = tmp_path / "backups" / "forwarding.db"
    backup.parent.mkdir()
    outcome = run("backup", str(backup))
    ended = time.monotonic()
    time.sleep(0.5)  # writes go on after it
    for writer in writers:
        writer.stop.set()
        writer.join(TIMEOUT)

    assert outcome.returncode == 0, outcome.stderr
    rules, integrity = stored(backup)
    assert integrity == [("ok",)]
    assert [refused for writer in writers for refused in writer.refused] == []
    acknowledged = [write for writer in writers for write in writer.acknowledged]
    before = [(number, entities) for at, number, entities in acknowledged if at < began]
    after = [(number, entities) for at, number, entities in acknowledged if at > ended]
    found = [(number, entities) for number, entities in before if rules.get(number) == (None, entities)]
    print(
        f"\nbackup drill: {len(acknowledged)} writes acknowledged, {len(before)} before the backup began,"
        f" {len(found)} of them in it; the backup holds {len(rules)} rules;"
        f" {len(after)} acknowledged after it ended, {sum(number in rules for number, _ in after)} of them in it"
    )
    assert len(before) > 20 and len(after) > 0  # the drill wrote on both sides of the backup
    assert found == before
    assert not any(number in rules for number, _ in after)  # it is the state of one moment
    assert re.fullmatch(
        rf"Backed up {uwsgi.env['FORWARDING_DATABASE']} to {backup}: [0-9,]+ bytes, {len(rules)} rules,"
        rf" {len(rules)} history records, taken \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.\n",
        outcome.stdout,
    )


def on_every_worker(uwsgi, port, ask):
    """`ask(port)` from several clients at once until every worker has answered at least one of
    them (and ten at least): the answers."""
    before = uwsgi.requests_by_worker()
    answers = []
    with ThreadPoolExecutor(4) as pool:
        while True:
            answers += pool.map(lambda _: ask(port), range(8))
            served = uwsgi.requests_by_worker()
            if all(served[pid] > before[pid] for pid in before) or len(answers) > 400:
                break
    assert all(served[pid] > before[pid] for pid in before), f"not every worker answered: {before} {served}"
    return answers


def test_a_restore_while_the_service_runs(service, tmp_path):
    uwsgi, port, run = service
    database = uwsgi.env["FORWARDING_DATABASE"]
    set_password(run, FIRST_PASSWORD)
    _, first_token = log_in(port, FIRST_PASSWORD)
    items = [{"link_id": n, "forward_number": n, "forward_entity_list": [f"sip:{n}@sip.bas-ip.com"]} for n in (1, 2, 3)]
    response = request(port, "POST", "/api/v1/forward/items/link", {"list_items": items}, bearer(first_token))
    assert response.status == 200
    serial = request(port, "GET", "/api/info").json()["device_serial_number"]
    backup = tmp_path / "backup.db"
    assert run("backup", str(backup)).returncode == 0
    backed_up, _ = stored(backup)

    # Then everything changes: the rules, the password, the serial (as another device's).
    set_password(run, SECOND_PASSWORD)
    _, second_token = log_in(port, SECOND_PASSWORD)  # the first one went with its password
    items = [{"link_id": 3, "forward_number": 3, "forward_entity_list": []}]
    items.append({"link_id": 9, "forward_number": 9, "forward_entity_list": ["9"]})
    assert (
        request(port, "POST", "/api/v1/forward/items/link", {"list_items": items}, bearer(second_token)).status == 200
    )
    with closing(sqlite3.connect(database, timeout=TIMEOUT)) as db, db:
        db.execute("UPDATE settings SET value = 'ANOTHER-DEVICE' WHERE name = 'device_serial'")
    serials = on_every_worker(uwsgi, port, lambda p: request(p, "GET", "/api/info").json()["device_serial_number"])
    assert set(serials) == {"ANOTHER-DEVICE"}  # every worker holds a connection, and reads it anew
    changed, _ = stored(database)

    # Bad files are refused, with nothing changed.
    (tmp_path / "empty.db").touch()
    (tmp_path / "rules.json").write_text('{"version": 1, "items": []}\n')
    with closing(sqlite3.connect(tmp_path / "theirs.db")) as db:
        db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
    refusals = {
        "missing.db": "{path}: no such file",
        "empty.db": "{path} is empty",
        "rules.json": "{path} is not an SQLite database",
        "theirs.db": "{path} has tables of another application: items",
    }
    for name, message in refusals.items():
        path = tmp_path / name
        outcome = run("restore", str(path))
        expected = f"Error: {message.format(path=path)}; nothing changed\n"
        assert (outcome.returncode, outcome.stdout, outcome.stderr) == (1, "", expected)
    assert stored(database) == (changed, [("ok",)])

    outcome = run("restore", str(backup))
    assert outcome.returncode == 0, outcome.stderr
    stamp = r"\d{8}T\d{6}Z(-\d+)?"
    assert re.fullmatch(
        rf"Kept the database it replaces as {database}\.before-restore-{stamp} \([0-9,]+ bytes\)\.\n"
        rf"Restored {backup}, taken \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ, into {database}: 3 rules, 3 history records\.\n"
        r"Revoked 1 token: every client must log in again; the backup's password is now in force\.\n",
        outcome.stdout,
    )

    # Every worker answers from the restored database, on the connection it kept.
    assert stored(database)[0] == backed_up
    serials = on_every_worker(uwsgi, port, lambda p: request(p, "GET", "/api/info").json()["device_serial_number"])
    assert set(serials) == {serial}
    statuses = on_every_worker(
        uwsgi,
        port,
        lambda p: (
            request(p, "GET", "/api/v1/forward/items", headers=bearer(first_token)).status,
            request(p, "GET", "/api/v1/forward/items", headers=bearer(second_token)).status,
        ),
    )
    assert set(statuses) == {(401, 401)}
    assert log_in(port, SECOND_PASSWORD)[0] == 400
    status, token = log_in(port, FIRST_PASSWORD)
    assert status == 200
    listed = on_every_worker(
        uwsgi,
        port,
        lambda p: [
            rule["forward_number"]
            for rule in request(p, "GET", "/api/v1/forward/items", headers=bearer(token)).json()["list_items"]
        ],
    )
    assert {tuple(numbers) for numbers in listed} == {(1, 2, 3)}
    kept = [path for path in (tmp_path / "state").iterdir() if ".before-restore-" in path.name]
    assert [stored(path)[0] for path in kept] == [changed]
