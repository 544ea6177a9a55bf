"""Several client processes at once, through nginx, against several uWSGI workers."""

import base64
import json
import multiprocessing
import sqlite3
import time
from contextlib import closing

import pytest

from tests.e2e.deployment import PUSH, link_items, request
from tests.helpers import bearer

pytestmark = pytest.mark.e2e

CLIENTS = 4
SHARED = range(1, 11)  # every client writes these forward numbers


def run_clients(function, *args):
    """`function(client, *args)` in CLIENTS processes at once; their results, by client."""
    with multiprocessing.get_context("spawn").Pool(CLIENTS) as pool:
        return pool.starmap(function, [(client, *args) for client in range(1, CLIENTS + 1)])


def list_rules(client, port, token, count):
    return [request(port, "GET", "/api/v1/forward/items", headers=bearer(token)).status for _ in range(count)]


def own_number(client, n):
    return 1000 * client + n


def value(client, n):
    return str(100000 * client + n)


def push_rules(client, port, token, count):
    """`count` bulk pushes: the shared numbers, then a number of this client's own; the answers,
    each after its refusals over the writes in progress (docs/api.md, section 6), sent again after
    `Retry-After` seconds as a client does, and those refusals as `(status, Retry-After, body)`."""
    answers, refusals = [], []
    for n in range(count):
        items = link_items([*SHARED, own_number(client, n)], lambda number, n=n: [value(client, n)])
        while (response := request(port, "POST", PUSH, {"list_items": items}, bearer(token))).status == 429:
            refusals.append((response.status, response.headers["Retry-After"], response.body.decode()))
            time.sleep(int(response.headers["Retry-After"]))
        answers.append((response.status, response.body.decode()))
    return answers, refusals


def test_one_login_is_accepted_by_several_workers(deployment):
    token = deployment.log_in()
    before = deployment.uwsgi.requests_by_worker(total=1)
    assert len(before) >= 2

    statuses = run_clients(list_rules, deployment.nginx.port, token, 25)

    assert [status for client in statuses for status in client] == [200] * (CLIENTS * 25)
    after = deployment.uwsgi.requests_by_worker(total=1 + CLIENTS * 25)
    served = {pid: after[pid] - before[pid] for pid in before if after[pid] > before[pid]}
    assert len(served) >= 2, f"one worker served every request: {served}"


def test_concurrent_bulk_pushes_all_succeed_and_agree_with_the_database(deployment):
    token = deployment.log_in()
    requests = 50

    answers, refusals = zip(*run_clients(push_rules, deployment.nginx.port, token, requests))
    assert {refusal for client in refusals for refusal in client} <= {(429, "1", '{"error":"Too many requests"}\n')}

    outcomes = {number: [] for number in SHARED}
    for client, client_answers in enumerate(answers, start=1):
        assert len(client_answers) == requests
        for n, (status, body) in enumerate(client_answers):
            assert status == 200, body
            result = json.loads(body)["result"]
            assert [entry["link_id"] for entry in result] == [*SHARED, own_number(client, n)]
            assert result[-1] == {"link_id": own_number(client, n), "success": True, "extended_info": "created"}
            for number, entry in zip(SHARED, result):
                outcomes[number].append(entry["extended_info"])
    # Each shared rule was created once, by whichever push came first, and updated by the rest.
    for number in SHARED:
        assert sorted(outcomes[number]) == ["created"] + ["updated"] * (CLIENTS * requests - 1)

    rules, integrity = deployment.stored()
    assert integrity == [("ok",)]
    written = {value(client, n) for client in range(1, CLIENTS + 1) for n in range(requests)}
    for number in SHARED:
        link_id, entities = rules.pop(number)
        assert link_id == number and len(entities) == 1 and entities[0] in written
    assert rules == {
        own_number(client, n): (own_number(client, n), [value(client, n)])
        for client in range(1, CLIENTS + 1)
        for n in range(requests)
    }
    assert "database is locked" not in deployment.logs()


def basic_list(client, port, count):
    credentials = {"Authorization": "Basic " + base64.b64encode(b"admin:123456").decode()}
    return [request(port, "GET", "/api/v1/forward/items", headers=credentials).status for _ in range(count)]


def test_basic_verified_by_one_worker_is_known_to_every_worker(deployment):
    # The workers share the key of the verified credentials (forked from uWSGI's master, which
    # imported it): one worker's verification is one row that every other worker finds. Workers
    # with keys of their own would each check the password again and add a row of their own.
    assert basic_list(0, deployment.nginx.port, 1) == [200]
    before = deployment.uwsgi.requests_by_worker(total=1)
    statuses = run_clients(basic_list, deployment.nginx.port, 10)
    assert [status for client in statuses for status in client] == [200] * (CLIENTS * 10)
    after = deployment.uwsgi.requests_by_worker(total=1 + CLIENTS * 10)
    served = {pid for pid in before if after[pid] > before[pid]}
    assert len(served) >= 2, "one worker served every request"
    with closing(sqlite3.connect(deployment.database)) as database:
        assert database.execute("SELECT count(*) FROM verified_credentials").fetchone() == (1,)
