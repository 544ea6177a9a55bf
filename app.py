"""The WSGI entry point: `uwsgi --ini wsgi.ini` (or any WSGI server) loads `app` from here."""

import sys

from forwarding import UnusableDatabase, config, create_app

try:
    app = create_app()
except (config.BadSetting, UnusableDatabase) as error:
    # One line, not a traceback; without `app`, uWSGI's need-app stops the server.
    print(f"forwarding: {error}; not starting", file=sys.stderr)
