"""Conditional GET (docs/api.md, 7.4): a strong ETag on the reads of the rules and the history, and
304 to a request whose If-None-Match names it.

The tag is a hash of every input of the answer: the data's generation (`Rules.generation`: the
database's random id, renewed by every restore, and the count of the writes that changed a rule or
the history), the endpoint, its checked path and query, the history limit and this code's version.
The generation and the answer come from one snapshot, so a tag never names other data.
"""

import hashlib

from flask import current_app, request

from . import __version__
from .db import get_rules


def answer(name, view, inputs):
    """The answer of `view(**inputs)` for the endpoint `name`, with its ETag; or 304 without a body."""
    rules = get_rules()
    wanted = request.if_none_match
    if wanted and not wanted.star_tag:
        # A 304 needs the generation alone: one statement, which reads one state, without a transaction.
        tag = _tag(rules, name, inputs)
        if wanted.contains_weak(tag):  # as RFC 9110 compares If-None-Match (weak or strong)
            return _tagged(current_app.response_class(status=304), tag)
    with rules.reading():
        tag = _tag(rules, name, inputs)
        if wanted.star_tag:
            view(**inputs)  # `*` matches an answer there is: a rule that does not exist is still 404
        if wanted.contains_weak(tag):
            response = current_app.response_class(status=304)
        else:
            response = current_app.make_response(view(**inputs))
    return _tagged(response, tag)


def _tag(rules, name, inputs):
    # The inputs as loaded: dicts in their schema's order, of ints, strings and None.
    key = repr((__version__, rules.generation(), rules.history_limit, rules.history_max_bytes, name, inputs))
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def _tagged(response, tag):
    response.set_etag(tag)
    return response
