"""The request body as JSON: strict, bounded in memory, whatever the Content-Type says."""

import json

from flask import request

from . import messages
from .errors import ApiError
from .limits import MAX_LIST_ELEMENTS, MEMORY_BESIDES_BODY, MEMORY_PER_BODY_BYTE


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def _json_integer(text):
    # Python refuses to convert more than 4300 digits, yet such a number is JSON: a field must
    # answer that it is out of range, an unknown key must ignore it. Past 20 characters no field
    # takes it anyway, so a float (cheap to make from any length) keeps its place.
    return int(text) if len(text) <= 20 else float(text)


def _parse(text, **hooks):
    # Strict JSON: NaN and Infinity are not JSON, though Python's parser takes them by default.
    return json.loads(text, parse_constant=_reject_constant, **hooks)


# Most bytes one JSON value takes once parsed (a member of an object with a key of its own, an
# empty object), and per byte of body for the body and its text: the bound of a parse (below).
_BYTES_PER_VALUE = 200
_BYTES_PER_BODY_BYTE = 2


def _parse_may_outgrow(data):
    """True when parsing `data` could take more memory than a request of its size may.

    Every value but the first of a list or an object follows a comma, and every list or object
    opens with a bracket: counted in one pass over the bytes (strings' own count too, so the
    count is never short), it bounds how many values the parse makes.
    """
    values = data.count(b",") + data.count(b"[") + data.count(b"{")
    most = _BYTES_PER_VALUE * values + _BYTES_PER_BODY_BYTE * len(data)
    return most > MEMORY_PER_BODY_BYTE * len(data) + MEMORY_BESIDES_BODY


def read_json(list_name=None):
    """The request body as a JSON object, whatever the Content-Type says; else `Wrong JSON body`.

    `Request body too large` (413) for a body whose parse could outgrow the request's memory, or
    whose list `list_name` has more than MAX_LIST_ELEMENTS elements.
    """
    data = request.get_data(cache=False)
    if _parse_may_outgrow(data):
        raise ApiError(messages.TOO_LARGE, 413)
    try:
        # Strict UTF-8: no byte-order mark, no lone surrogates.
        text = data.decode("utf-8")
        del data
        try:
            body = _parse(text)
        except ValueError:
            # Perhaps only an integer too long for Python: a Python hook on every integer would
            # slow down every push, so it is used on this second try alone.
            body = _parse(text, parse_int=_json_integer)
    except (ValueError, RecursionError):
        raise ApiError(messages.WRONG_JSON) from None
    if not isinstance(body, dict):
        raise ApiError(messages.WRONG_JSON)
    if type(body.get(list_name)) is list and len(body[list_name]) > MAX_LIST_ELEMENTS:
        raise ApiError(messages.TOO_LARGE, 413)
    return body
