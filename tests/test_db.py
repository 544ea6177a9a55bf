"""The repository connection that each thread keeps between requests (forwarding/db.py)."""

import threading

from forwarding.db import get_repo

from helpers import stored_rules


def test_a_thread_keeps_its_connection_between_requests(app):
    with app.app_context():
        first = get_repo()
    with app.app_context():
        assert get_repo() is first

    def in_another_thread():
        with app.app_context():
            other.append(get_repo())

    other = []
    thread = threading.Thread(target=in_another_thread)
    thread.start()
    thread.join()
    assert other[0] is not first


def test_a_connection_left_inside_a_transaction_is_replaced(app, repo):
    app.config["BUSY_TIMEOUT_MS"] = 100  # a write lock still held fails the write below at once
    with app.app_context():
        broken = get_repo()
        broken.db.execute("BEGIN IMMEDIATE")
        broken.db.execute("INSERT INTO rules (forward_number, entities) VALUES (1, '[\"1\"]')")
    with app.app_context():
        assert get_repo() is not broken
        get_repo().put_rule(2, ["2"])
    assert stored_rules(repo) == {2: (None, ["2"])}
