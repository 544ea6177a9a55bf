"""Workers killed mid-request, and the service stopped and started again as systemd does."""

import os
import signal
import sqlite3
from contextlib import closing

import pytest

from tests.e2e.deployment import (
    NGINX_INTERNAL_ERROR,
    PUSH,
    Background,
    link_items,
    sip_entities,
    wait_until,
    write_lock,
)
from tests.helpers import bearer

pytestmark = pytest.mark.e2e


def wal_size(database):
    try:
        return os.path.getsize(f"{database}-wal")
    except FileNotFoundError:
        return 0


def kill_while_waiting_for_the_lock(deployment):
    """The worker has read and checked the batch and waits for the write lock."""
    with write_lock(deployment.database):
        worker = wait_until(deployment.uwsgi.busy_worker, 30, "no worker took the push")
        os.kill(worker, signal.SIGKILL)
    return worker


def kill_while_writing(deployment):
    """The worker is inside its transaction: the write-ahead log holds a megabyte of the batch,
    of the several megabytes it will hold at the commit."""
    worker = wait_until(deployment.uwsgi.busy_worker, 30, "no worker took the push", interval=0.001)
    start = wal_size(deployment.database)
    wait_until(lambda: wal_size(deployment.database) > start + 2**20, 30, "the batch was not written", interval=0.0005)
    os.kill(worker, signal.SIGKILL)
    return worker


def stored_history(database):
    """`(source, request_id, forward_number, after_link_id)` of every history record, oldest first."""
    with closing(sqlite3.connect(database)) as db:
        return db.execute(
            "SELECT source, request_id, forward_number, after_link_id FROM history ORDER BY id"
        ).fetchall()


@pytest.mark.parametrize("kill", [kill_while_waiting_for_the_lock, kill_while_writing])
def test_a_worker_killed_mid_push_leaves_nothing_of_it(deployment, kill):
    token = deployment.log_in()
    batch = link_items(range(1, 20001), sip_entities)

    push = Background(deployment.request, "POST", PUSH, {"list_items": batch}, bearer(token))
    killed = kill(deployment)

    assert (push.result().status, push.result().body) == (502, NGINX_INTERNAL_ERROR)
    assert deployment.stored() == ({}, [("ok",)])
    assert stored_history(deployment.database) == []  # the rules and their records: neither
    # The master forks a new worker in place of the dead one, and the service writes again.
    deployment.uwsgi.wait_ready(replacing=killed)
    again = deployment.request("POST", PUSH, {"list_items": batch[:100]}, bearer(token))
    assert again.status == 200
    assert deployment.stored() == ({number: (number, sip_entities(number)) for number in range(1, 101)}, [("ok",)])
    request_id = again.headers["X-Request-ID"]
    assert stored_history(deployment.database) == [("link", request_id, number, number) for number in range(1, 101)]


def test_a_worker_killed_while_it_records_the_history_leaves_both_or_neither(deployment):
    """Past the rules' share of the write-ahead log (about 5.5 MB of the 12 at the commit), the
    worker is writing the push's history records, or committing: killed there, the rules and
    their records are on disk together or not at all."""
    token = deployment.log_in()
    batch = link_items(range(1, 20001), sip_entities)
    push = Background(deployment.request, "POST", PUSH, {"list_items": batch}, bearer(token))
    worker = wait_until(deployment.uwsgi.busy_worker, 30, "no worker took the push", interval=0.001)
    start = wal_size(deployment.database)
    wait_until(lambda: wal_size(deployment.database) > start + 7 * 2**20, 60, "no history written", interval=0.0005)
    os.kill(worker, signal.SIGKILL)

    rules, integrity = deployment.stored()
    history = stored_history(deployment.database)
    assert integrity == [("ok",)]
    if rules:  # the commit was done before the kill
        assert push.result().status in (200, 502)
        assert rules == {number: (number, sip_entities(number)) for number in range(1, 20001)}
        assert [(source, number, link_id) for source, _, number, link_id in history] == [
            ("link", number, number) for number in range(1, 20001)
        ]
    else:
        assert (push.result().status, push.result().body) == (502, NGINX_INTERNAL_ERROR)
        assert history == []


def test_sigterm_stops_the_service_and_a_restart_keeps_rules_and_tokens(deployment):
    token = deployment.log_in()
    batch = link_items(range(1, 1001), sip_entities)
    assert deployment.request("POST", PUSH, {"list_items": batch}, bearer(token)).status == 200
    listed = deployment.request("GET", "/api/v1/forward/items/link?limit=1000", headers=bearer(token))

    assert deployment.uwsgi.terminate(timeout=10) == 0
    down = deployment.request("GET", "/api/v1/forward/items", headers=bearer(token))
    deployment.uwsgi.start()

    assert (down.status, down.body) == (502, NGINX_INTERNAL_ERROR)
    assert down.headers["Content-Type"] == "application/json"
    again = deployment.request("GET", "/api/v1/forward/items/link?limit=1000", headers=bearer(token))
    assert (again.status, again.body) == (200, listed.body)
    assert deployment.stored() == ({number: (number, sip_entities(number)) for number in range(1, 1001)}, [("ok",)])


def test_sigterm_stops_the_service_while_a_worker_is_loading_the_app(start_deployment):
    """uWSGI 2.0 loses a stop signal that reaches a worker still loading the app (lazy-apps):
    the master then waits `worker-reload-mercy` for it, not a minute."""
    deployment = start_deployment(FORWARDING_BUSY_TIMEOUT_MS="5000")
    with write_lock(deployment.database):  # the new worker's start-up waits for it
        worker = next(iter(deployment.uwsgi.requests_by_worker()))
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: worker not in deployment.uwsgi.requests_by_worker(), 10, "no new worker")
        deployment.uwsgi.process.send_signal(signal.SIGTERM)
    assert deployment.uwsgi.process.wait(timeout=20) == 0
