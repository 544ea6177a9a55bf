"""The repository connection: opened on a thread's first request and kept for its next ones.

Opening an SQLite connection and reading the schema costs more than a list request itself, so
each thread keeps its own (an sqlite3 connection belongs to the thread that made it). Under
uWSGI with lazy-apps each worker opens its own after the fork, on its first request.
"""

import threading

from flask import current_app

from .repository import Repository


def _connections():
    return current_app.extensions["forwarding.connections"]


def get_repo():
    connections = _connections()
    repo = getattr(connections, "repo", None)
    if repo is None:
        config = current_app.config
        repo = connections.repo = Repository.connect(
            config["DATABASE"], config["BUSY_TIMEOUT_MS"], config["HISTORY_LIMIT"]
        )
    return repo


def _drop_if_unfinished(exception=None):
    # Every transaction ends inside its own method; one still open means something failed
    # where even the rollback could not run. The next request starts on a new connection.
    connections = _connections()
    repo = getattr(connections, "repo", None)
    if repo is not None and repo.db.in_transaction:
        repo.close()
        del connections.repo


def init_app(app):
    app.extensions["forwarding.connections"] = threading.local()
    app.teardown_appcontext(_drop_if_unfinished)
