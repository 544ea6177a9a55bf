"""The WSGI entry point: `uwsgi --ini wsgi.ini` (or any WSGI server) loads `app` from here."""

from forwarding import create_app
from forwarding.chunked import chunked_input

app = create_app()
app.wsgi_app = chunked_input(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])
