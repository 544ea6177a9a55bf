"""The WSGI application's factory: `create_app`."""

import logging
import os
import sqlite3
import uuid
from contextlib import closing

from flask import Flask

from . import api, chunked, conditional, config, credentials, db, errors, requestlog
from .storage import backup
from .storage.access import Access
from .storage.database import SCHEMA_VERSION, Database


class _JsonFlask(Flask):
    def make_default_options_response(self):
        # OPTIONS answers JSON too, with the methods of the path, and needs no authentication.
        response = self.json.response({})
        response.headers["Allow"] = errors.allow(super().make_default_options_response().allow)
        return response


class UnusableDatabase(Exception):
    """The database file is damaged, unreadable or read-only: the service does not start on it."""

    @classmethod
    def because(cls, path, error):
        return cls(f"cannot use the database {path!r}: {error}")


def not_starting(error):
    """The one line the service stops with at start (startcheck.py), as `forwarding config --check` says it."""
    return f"forwarding: {error}; not starting"


# The command as typed on a host deployed as the README says, where plain `forwarding` is not on
# root's PATH: as root, it acts on the service's database, as its owner (cli/files.py).
FACTORY_PASSWORD_WARNING = (
    "the account still has the factory password; change it with `forwarding set-password`"
    " (deployed: `/opt/forwarding/.venv/bin/forwarding set-password`, as root)"
)


def create_app(test_config=None, announce=True):
    """The WSGI application. Settings: `config.DEFAULTS`, then `FORWARDING_*` from the environment,
    or `test_config` instead of the environment (the command line passes the settings it read).
    `announce`: log what an operator must know at a start (the factory password, unknown
    variables). Raises config.BadSetting or UnusableDatabase."""
    app = _JsonFlask("forwarding")  # the package: its logger, `forwarding`, and its root path
    app.config.from_mapping(config.DEFAULTS)
    app.config.update(config.from_environment() if test_config is None else test_config)
    app.json.sort_keys = False  # docs/api.md fixes the order of every key
    app.logger.setLevel(logging.INFO)
    requestlog.init_app(app)  # first: its before_request must run before any other
    if announce and test_config is None:
        for warning in config.unknown():
            app.logger.warning(warning)

    try:
        _prepare_database(app, announce)
    except sqlite3.DatabaseError as error:
        # The file stays as it is: never a fresh database over one that cannot be read.
        raise UnusableDatabase.because(app.config["DATABASE"], error) from None

    db.init_app(app)
    conditional.init_app(app)
    app.wsgi_app = chunked.chunked_input(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])
    app.register_blueprint(api.bp)
    return app


def _prepare_database(app, announce):
    """Create the database on first start, with its device serial; warn about the factory password.

    The connection is closed before returning: under uWSGI without lazy-apps the app is loaded
    before the workers fork, and an SQLite connection must not cross a fork.
    """
    path = app.config["DATABASE"]
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with closing(Database.open(path, app.config["BUSY_TIMEOUT_MS"])) as database:
        database.check()
        version = database.schema_version()
        if 0 < version < SCHEMA_VERSION:  # an upgrade: the data as it was is kept first
            kept = backup.keep(database.connection, path, "before-upgrade")
            app.logger.warning(
                "the database has schema %d, this code %d: backed it up to %s, now migrating",
                version,
                SCHEMA_VERSION,
                kept.path,
            )
        database.prepare(
            make_account=lambda: (
                credentials.DEFAULT_USERNAME,
                credentials.hash_password(credentials.DEFAULT_PASSWORD),
            ),
            make_serial=lambda: uuid.uuid4().hex[:16].upper(),
        )
        if announce and Access(database).account().is_default:
            app.logger.warning(FACTORY_PASSWORD_WARNING)
