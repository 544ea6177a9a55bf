"""The storage connection: opened on a thread's first request and kept for its next ones.

Opening an SQLite connection and reading the schema costs more than a list request itself, so
each thread keeps its own (an sqlite3 connection belongs to the thread that made it). Under
uWSGI with lazy-apps each worker opens its own after the fork, on its first request.
"""

import threading

from flask import current_app

from .storage import Storage


def _connections():
    return current_app.extensions["forwarding.connections"]


def get_storage():
    connections = _connections()
    storage = getattr(connections, "storage", None)
    if storage is None:
        config = current_app.config
        storage = connections.storage = Storage(
            config["DATABASE"],
            config["BUSY_TIMEOUT_MS"],
            config["HISTORY_LIMIT"],
            config["HISTORY_MAX_BYTES"],
            config["MAX_RULES"],
        )
    return storage


def get_rules():
    return get_storage().rules


def get_access():
    return get_storage().access


def _drop_if_unfinished(exception=None):
    # Every transaction ends inside its own method; one still open means something failed
    # where even the rollback could not run. The next request starts on a new connection.
    connections = _connections()
    storage = getattr(connections, "storage", None)
    if storage is not None and storage.database.connection.in_transaction:
        storage.close()
        del connections.storage


def init_app(app):
    app.extensions["forwarding.connections"] = threading.local()
    app.teardown_appcontext(_drop_if_unfinished)
