"""The WSGI entry point: `uwsgi --ini wsgi.ini` (or any WSGI server) loads `app` from here."""

import sys

from forwarding import config
from forwarding.factory import UnusableDatabase, create_app

# Under wsgi.ini, uWSGI's master has loaded the app once before forking this worker and said
# what a start must say (forwarding/startcheck.py): not again from each worker and respawn.
try:
    app = create_app(announce="forwarding.startcheck" not in sys.modules)
except (config.BadSetting, UnusableDatabase) as error:
    # One line, not a traceback; without `app`, uWSGI's need-app stops the server.
    print(f"forwarding: {error}; not starting", file=sys.stderr)
