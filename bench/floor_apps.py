"""Bench-only WSGI apps that bench/http_load.py serves with the service's uWSGI settings, as floors.

For the list page, a constant answer: the bytes of the file named by BENCH_CONSTANT_BODY.
- `app`: the least a WSGI app can do;
- `flask_app`: the least a Flask view can do (Flask is one of the project's fixed choices).

For the single-rule write, the same commit as the service's, and nothing else: no
authentication, no validation, no request log. The database is BENCH_DATABASE.
- `commit_app`: a bare WSGI app that parses the body and stores the rule with the storage layer;
- `flask_commit_app`: the same in a Flask view, with its own copy of the transaction that
  `Rules.put_rule` made when this floor was set (`put_rule` below): a faster repository speeds up
  the service, not its floor.
"""

import functools
import json
import os
import time

from flask import Flask, request

from forwarding.limits import HISTORY_LIMIT, HISTORY_MAX_BYTES, MAX_RULES
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
    put_rule(_rules().database, number, json.loads(request.get_data())["forward_entity_list"])
    return {}


# Rules.put_rule of a rule with entries, as it was when the floor was set: the snapshot of the
# rule, the write, the bound on the rules, one history record with its bytes, and the prune.
_SNAPSHOT = (
    "INSERT OR IGNORE INTO temp.touched SELECT forward_number, link_id, entities FROM rules"
    " WHERE forward_number IN (SELECT value FROM json_each(?))"
)
_ABSENT = "INSERT OR IGNORE INTO temp.touched (forward_number) SELECT value FROM json_each(?)"
_WRITE = (
    "INSERT INTO rules (forward_number, entities) VALUES (?, ?)"
    " ON CONFLICT (forward_number) DO UPDATE SET entities = excluded.entities"
)
_RECORD = """INSERT INTO history (time_ms, source, request_id, forward_number, before_link_id, before_entities,
                             after_link_id, after_entities, size, bytes_before)
    SELECT :time_ms, :source, :request_id, number, before_link_id, before_entities, after_link_id, after_entities,
        size, :bytes_before + sum(size) OVER (ORDER BY kept, number ROWS UNBOUNDED PRECEDING) - size
    FROM (SELECT t.forward_number AS number, t.link_id AS before_link_id, t.entities AS before_entities,
                 r.link_id AS after_link_id, r.entities AS after_entities, r.forward_number IS NOT NULL AS kept,
                 48 + length(:source) + coalesce(length(:request_id), 0)
                     + coalesce(length(t.entities), 0) + coalesce(length(r.entities), 0) AS size
          FROM temp.touched AS t LEFT JOIN rules AS r ON r.forward_number = t.forward_number
          WHERE t.entities IS NOT r.entities OR t.link_id IS NOT r.link_id)
    ORDER BY kept, number"""


def put_rule(database, number, entities):
    with database.transaction() as db:
        numbers = json.dumps([number])
        db.execute(_SNAPSHOT, (numbers,))
        db.execute(_ABSENT, (numbers,))
        db.execute(_WRITE, (number, json.dumps(entities)))
        if db.execute("SELECT count(*) FROM rules").fetchone()[0] > MAX_RULES:
            raise ValueError("too many rules")
        values = {"time_ms": round(time.time() * 1000), "source": "item", "request_id": "f" * 32}
        values["bytes_before"] = (
            db.execute("SELECT bytes_before + size FROM history ORDER BY id DESC LIMIT 1").fetchone() or (0,)
        )[0]
        db.execute(_RECORD, values)
        db.execute("DELETE FROM temp.touched")
        newest, total_bytes = db.execute(
            "SELECT id, bytes_before + size FROM history ORDER BY id DESC LIMIT 1"
        ).fetchone()
        first_kept = newest - HISTORY_LIMIT + 1
        if total_bytes > HISTORY_MAX_BYTES:
            within = db.execute(
                "SELECT id FROM history WHERE bytes_before >= ? ORDER BY bytes_before LIMIT 1",
                (total_bytes - HISTORY_MAX_BYTES,),
            ).fetchone()
            first_kept = max(first_kept, newest if within is None else min(within[0], newest))
        db.execute("DELETE FROM history WHERE id < ?", (first_kept,))
