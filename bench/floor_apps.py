"""Bench-only WSGI apps that bench/http_load.py serves with the service's uWSGI settings, as floors.

For the list page, a constant answer: the bytes of the file named by BENCH_CONSTANT_BODY.
- `app`: the least a WSGI app can do;
- `flask_app`: the least a Flask view can do (Flask is one of the project's fixed choices).

For the single-rule write, the same commit as the service's, and nothing else: no
authentication, no validation, no request log. The database is BENCH_DATABASE.
- `commit_app`: a bare WSGI app that parses the body and stores the rule with the storage layer;
- `flask_commit_app`: the same in a Flask view.
"""

import functools
import json
import os

from flask import Flask, request

from forwarding.storage import Storage

EMPTY = b"{}\n"


@functools.cache
def _constant():
    with open(os.environ["BENCH_CONSTANT_BODY"], "rb") as body_file:
        return body_file.read()


@functools.cache
def _rules():
    # One connection per worker, opened after uWSGI's fork (lazy-apps), as the service's.
    return Storage(os.environ["BENCH_DATABASE"]).rules


def app(environ, start_response):
    body = _constant()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def commit_app(environ, start_response):
    if environ["REQUEST_METHOD"] == "POST":
        number = int(environ["PATH_INFO"].rsplit("/", 1)[1])
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        _rules().put_rule(number, json.loads(body)["forward_entity_list"])
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(EMPTY)))])
    return [EMPTY]


flask_app = Flask(__name__)


@flask_app.get("/<path:path>")
def constant(path):
    return flask_app.response_class(_constant(), mimetype="application/json")


flask_commit_app = Flask(__name__)


@flask_commit_app.get("/api/info")  # what bench/http_load.py asks to see that the server is up
def info():
    return {}


@flask_commit_app.post("/api/v1/forward/item/<int:number>")
def commit(number):
    _rules().put_rule(number, json.loads(request.get_data())["forward_entity_list"])
    return {}
