"""The error docs/api.md gives a request, worked out from the reference on its own terms rather
than from schemas.py, so that generated requests can be checked against it. Each function returns
the expected message, or None when the request is valid.
"""

import re

from tests.entries import PATTERNS
from tests.helpers import INT64_MAX, MAX_LENGTH, WRONG_JSON, no_value, wrong_type

MAX_ENTITIES = 8  # the default of FORWARDING_MAX_ENTITIES


def is_id(value):
    # A JSON integer in range; Python's bool is an int, JSON's true is not.
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= INT64_MAX


def is_entity(value):
    return (
        isinstance(value, str)
        and len(value) <= MAX_LENGTH
        and any(re.fullmatch(pattern, value, re.ASCII) for pattern in PATTERNS)
    )


def is_entity_list(value):
    return isinstance(value, list) and len(value) <= MAX_ENTITIES and all(map(is_entity, value))


def is_id_list(value):
    return isinstance(value, list) and all(map(is_id, value))


def _first_problem(mapping, fields):
    """The message for the first of `fields` ((name, check), in reading order) that is absent
    from `mapping` or fails its check."""
    for name, check in fields:
        if name not in mapping:
            return no_value(name)
        if not check(mapping[name]):
            return wrong_type(name)
    return None


_LINK_ITEM = (("link_id", is_id), ("forward_number", is_id), ("forward_entity_list", is_entity_list))


def link_items_error(body):
    """`list_items`, then each element in order, its fields in the order of _LINK_ITEM."""
    if not isinstance(body, dict):
        return WRONG_JSON
    problem = _first_problem(body, (("list_items", lambda items: isinstance(items, list)),))
    for item in [] if problem else body["list_items"]:
        problem = wrong_type("list_items") if not isinstance(item, dict) else _first_problem(item, _LINK_ITEM)
        if problem:
            break
    return problem


def _body_error(*fields):
    def error(body):
        return _first_problem(body, fields) if isinstance(body, dict) else WRONG_JSON

    return error


BODY_ERRORS = {
    ("POST", "/api/v1/forward/items/link"): link_items_error,
    ("POST", "/api/v1/forward/item/101"): _body_error(("forward_entity_list", is_entity_list)),
    ("DELETE", "/api/v1/forward/items"): _body_error(("uid_items", is_id_list)),
    ("DELETE", "/api/v1/forward/items/link"): _body_error(("link_ids", is_id_list)),
}


def digits_in(text, maximum):
    # An integer 1..maximum in ASCII digits. The service reads at most 25 digits: leading
    # zeros past that are refused.
    return re.fullmatch("[0-9]{1,25}", text) is not None and 1 <= int(text) <= maximum


_LIST_QUERY = (
    ("limit", lambda text: digits_in(text, 1000)),
    ("page_number", lambda text: digits_in(text, INT64_MAX)),
    ("sort_field", lambda text: text == "forward_number"),
    ("sort_type", lambda text: text in ("asc", "desc")),
)

QUERIES = {
    "/api/v1/forward/items": _LIST_QUERY,
    "/api/v1/forward/items/link": _LIST_QUERY + (("link_id", lambda text: digits_in(text, INT64_MAX)),),
}


def query_error(path, pairs):
    """The first parameter, in the order of docs/api.md, whose first value is wrong."""
    first = {}
    for name, value in pairs:
        first.setdefault(name, value)
    for name, check in QUERIES[path]:
        if name in first and not check(first[name]):
            return wrong_type(name)
    return None


def forward_uid_error(segment):
    """The path of the one-rule endpoint: an integer in the range of forward_number."""
    return None if digits_in(segment, INT64_MAX) else wrong_type("forward-uid")
