"""Requests through a WSGI callable in this process, as a server would make them (bench/ only)."""

import json

from werkzeug.test import EnvironBuilder

MD5_123456 = "e10adc3949ba59abbe56e057f20f883e"  # the factory password, as a login sends it


def environ_for(*args, **kwargs):
    """A WSGI environ; arguments as werkzeug's EnvironBuilder takes them."""
    return EnvironBuilder(*args, **kwargs).get_environ()


def call(app, environ):
    """`(status code, body bytes)` of one request."""
    status = []
    chunks = app(environ, lambda line, headers, exc_info=None: status.append(line))
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return int(status[0].split()[0]), body


def bearer(app):
    """Headers with a fresh login token of the factory account."""
    status, body = call(app, environ_for("/api/v1/login", query_string={"username": "admin", "password": MD5_123456}))
    assert status == 200, body
    return {"Authorization": "Bearer " + json.loads(body)["token"]}
