"""Request bodies sent chunked (`Transfer-Encoding: chunked`), as Java and Go clients stream them.

nginx passes such a body whole, with its CONTENT_LENGTH. uWSGI serving HTTP itself passes the
chunks undecoded and no length: they are read here, up to the body limit, with uWSGI's decoder.
Either way the app then sees an ordinary body of known length.
"""

import io
import json

from . import messages

BAD_REQUEST = json.dumps({"error": messages.BAD_REQUEST}).encode() + b"\n"


def chunked_input(wsgi_app, limit):
    """`wsgi_app` that reads a chunked body (at most `limit` bytes of it) before it runs."""

    def app(environ, start_response):
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" and not environ.get("wsgi.input_terminated"):
            del environ["HTTP_TRANSFER_ENCODING"]  # Werkzeug reads no body beside it
            if not environ.get("CONTENT_LENGTH"):
                try:
                    body = _read_chunks(limit)
                except OSError:  # a malformed chunk, or the client gone
                    start_response("400 BAD REQUEST", [("Content-Type", "application/json")])
                    return [BAD_REQUEST]
                # A body over the limit keeps its length past it: the app answers its own 413.
                environ["CONTENT_LENGTH"] = str(body.getbuffer().nbytes)
                environ["wsgi.input"] = body
        return wsgi_app(environ, start_response)

    return app


def _read_chunks(limit):
    import uwsgi  # only under uWSGI, the one server that leaves the chunks to the app

    body = io.BytesIO()
    while chunk := uwsgi.chunked_read():
        body.write(chunk)
        if body.tell() > limit:
            break
    body.seek(0)
    return body
