"""The start of the service, checked once: wsgi.ini has uWSGI's master import this module before
it forks the workers (`shared-pyimport`).

The settings are read and the database is created or checked, as each worker will again (app.py):
a setting or a database that cannot be used stops uWSGI here with one line, before any worker
starts, instead of a line from each worker and each of their respawns. What a start must say
(the factory password, unknown variables) is said here too, once per start of the master; the
workers, which find this module imported, say it no more.

Then one line names what started: the release, the schema it writes, the Python and the
database. Under uWSGI, `sys.executable` is uWSGI itself; the Python is the library it loaded,
named by its version and its installation (`sys.base_prefix`): a virtualenv whose Python the
service's user cannot run makes uWSGI load the system's, and this line shows it.
"""

import os
import platform
import sys

from . import __version__, config
from .factory import UnusableDatabase, create_app, not_starting
from .storage.database import SCHEMA_VERSION

try:
    app = create_app()
except (config.BadSetting, UnusableDatabase) as error:
    sys.exit(not_starting(error))

app.logger.info(
    "forwarding %s (schema %d) starting on Python %s (%s, run by %s), database %s",
    __version__,
    SCHEMA_VERSION,
    platform.python_version(),
    sys.base_prefix,
    sys.executable,
    os.path.abspath(app.config["DATABASE"]),
)
