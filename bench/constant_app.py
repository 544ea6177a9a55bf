"""Bench-only WSGI apps that answer every request with one constant JSON body, read at start from
the file named by BENCH_CONSTANT_BODY. bench/http.py serves them with the service's uWSGI
settings as floors of what a list page can cost: `app` is the least a WSGI app can do, and
`flask_app` the least a Flask view can (the framework is one of the project's fixed choices)."""

import os

from flask import Flask

with open(os.environ["BENCH_CONSTANT_BODY"], "rb") as body_file:
    BODY = body_file.read()
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]


flask_app = Flask(__name__)


@flask_app.get("/<path:path>")
def constant(path):
    return flask_app.response_class(BODY, mimetype="application/json")
