"""Conditional GET (docs/api.md, 7.4): a strong ETag on the reads of the rules and the history, and
304 to a request whose If-None-Match names it.

The tag is a hash of every input of the answer: the data's generation (`Rules.generation`: the
database's random id, renewed by every restore, and the count of the writes that changed a rule or
the history), the endpoint, its checked path and query, the history limit and this code's version.
The generation and the answer come from one snapshot, so a tag never names other data.

Since a tag names one answer, each process keeps its latest answers by their tag (`Kept`): a
request whose tag, read from the database each time, names a kept answer gets it without reading
the data again. A write or a restore in any process moves the generation, and so the tag.
"""

import hashlib
import threading

from flask import current_app, request

from . import __version__
from .db import get_rules

KEPT_BYTES = 2**20  # per process: over a hundred pages of 100 rules of two entries
# What keeping an answer costs beside its body: its tag, the dict's entry, the bytes' header.
ENTRY_BYTES = 256
_KEPT = "forwarding.kept_answers"


class Kept:
    """Answers' bodies by their tag, at most about `max_bytes` of memory: past it, the oldest go."""

    def __init__(self, max_bytes=KEPT_BYTES):
        self.max_bytes = max_bytes
        self._bodies = {}  # in the order they were kept
        self._bytes = 0
        self._lock = threading.Lock()  # `flask run` serves requests in threads

    def get(self, tag):
        return self._bodies.get(tag)

    def keep(self, tag, body):
        cost = len(body) + ENTRY_BYTES
        if cost > self.max_bytes:
            return
        with self._lock:
            if tag in self._bodies:
                return
            while self._bytes + cost > self.max_bytes:
                self._bytes -= len(self._bodies.pop(next(iter(self._bodies)))) + ENTRY_BYTES
            self._bodies[tag] = body
            self._bytes += cost


def init_app(app):
    app.extensions[_KEPT] = Kept()


def answer(name, view, inputs):
    """The answer of `view(**inputs)` for the endpoint `name`, with its ETag; or 304 without a body."""
    rules = get_rules()
    wanted = request.if_none_match
    kept = current_app.extensions[_KEPT]
    if not wanted.star_tag:
        # The generation alone: one statement, which reads one state, without a transaction.
        tag = _tag(rules, name, inputs)
        if wanted.contains_weak(tag):  # as RFC 9110 compares If-None-Match (weak or strong)
            return _tagged(current_app.response_class(status=304), tag)
        body = kept.get(tag)
        if body is not None:
            return _tagged(current_app.response_class(body, mimetype="application/json"), tag)
    with rules.reading():
        tag = _tag(rules, name, inputs)
        if wanted.star_tag:
            view(**inputs)  # `*` matches an answer there is: a rule that does not exist is still 404
        if wanted.contains_weak(tag):
            response = current_app.response_class(status=304)
        else:
            response = current_app.make_response(view(**inputs))
            if response.status_code == 200 and response.mimetype == "application/json":
                kept.keep(tag, response.get_data())
    return _tagged(response, tag)


def _tag(rules, name, inputs):
    # The inputs as loaded: dicts in their schema's order, of ints, strings and None.
    key = repr((__version__, rules.generation(), rules.history_limit, rules.history_max_bytes, name, inputs))
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def _tagged(response, tag):
    response.set_etag(tag)
    return response
