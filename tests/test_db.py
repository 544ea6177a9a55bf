"""The storage connection that each thread keeps between requests (forwarding/db.py)."""

import gc
import os
import threading

from forwarding.db import get_storage
from tests.helpers import stored_rules


def test_a_thread_keeps_its_connection_between_requests(app):
    with app.app_context():
        first = get_storage()
    with app.app_context():
        assert get_storage() is first

    def in_another_thread():
        with app.app_context():
            other.append(id(get_storage()))  # not the object: it closes in its own thread

    other = []
    thread = threading.Thread(target=in_another_thread)
    thread.start()
    thread.join()
    assert other[0] != id(first)


def test_a_connection_left_inside_a_transaction_is_replaced(app, repo):
    app.config["BUSY_TIMEOUT_MS"] = 100  # a write lock still held fails the write below at once
    with app.app_context():
        broken = get_storage()
        broken.database.connection.execute("BEGIN IMMEDIATE")
        broken.database.connection.execute("INSERT INTO rules (forward_number, entities) VALUES (1, '[\"1\"]')")
    with app.app_context():
        assert get_storage() is not broken
        get_storage().rules.put_rule(2, ["2"])
    assert stored_rules(repo) == {2: (None, ["2"])}


def open_files():
    return len(os.listdir("/proc/self/fd"))


def test_threads_that_end_leave_no_file_open(client, auth):
    # As `flask run` serves: every request in a thread of its own, which keeps a connection
    # (the database file and the writers' lock file) until it ends.
    def write_in_a_thread():
        thread = threading.Thread(
            target=lambda: client.post("/api/v1/forward/item/7", json={"forward_entity_list": ["101"]}, headers=auth)
        )
        thread.start()
        thread.join()

    write_in_a_thread()
    gc.collect()
    before = open_files()
    for _ in range(20):
        write_in_a_thread()
    gc.collect()
    assert open_files() == before
