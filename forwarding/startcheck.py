"""The start of the service, checked once: wsgi.ini has uWSGI's master import this module before
it forks the workers (`shared-pyimport`).

The settings are read and the database is created or checked, as each worker will again (app.py):
a setting or a database that cannot be used stops uWSGI here with one line, before any worker
starts, instead of a line from each worker and each of their respawns. What a start must say
(the factory password, unknown variables) is said here too, once per start of the master; the
workers, which find this module imported, say it no more.
"""

import sys

from . import config
from .factory import UnusableDatabase, create_app, not_starting

try:
    create_app()
except (config.BadSetting, UnusableDatabase) as error:
    sys.exit(not_starting(error))
