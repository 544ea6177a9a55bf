"""The WSGI entry point: `uwsgi --ini wsgi.ini` (or any WSGI server) loads `app` from here."""

from forwarding import create_app

app = create_app()
