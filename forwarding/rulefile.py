"""The files of `forwarding export` and `forwarding import`.

Ours, written by `export` (one item a line, in forward_number order)::

    {"version": 1, "items": [
      {"link_id": 7, "forward_number": 101, "forward_entity_list": ["101", "vizit:1"]},
      {"forward_number": 102, "forward_entity_list": ["sip:100@sip.bas-ip.com"]}
    ]}

An item has the keys of the API's lists, in their order; `link_id` is absent from a rule that
has none. The legacy forward table, which panel web interfaces import and export, is also read::

    {"count": 1, "items": [{"apartment": 101, "forward_numbers": ["77469"]}], "version": 1}

with `apartment` as the forward_number and `forward_numbers` as the forward_entity_list. Items
are checked with the API's own field checks (`schemas`), and the first bad one is named.
"""

import json

from . import schemas
from .limits import INT64_MAX, is_int64

VERSION = 1
OURS = "export"
LEGACY = "legacy forward table"

_INTEGER = f"an integer from 1 to {INT64_MAX}"
# The forms an entry takes (docs/api.md, 3.1 has the patterns themselves).
_ENTITIES = (
    "a list of at most {} forward numbers, each digits (101), laskomex:N, vizit:N or a SIP URI"
    " (sip:100@sip.bas-ip.com, sip:192.168.1.2; the patterns: docs/api.md, section 3.1)"
)

# (name in the file, required, what it must be) in the order a rule tuple has them.
_FIELDS = {
    OURS: (
        ("link_id", False, _INTEGER),
        ("forward_number", True, _INTEGER),
        ("forward_entity_list", True, _ENTITIES),
    ),
    LEGACY: (
        (None, False, None),  # no link_id: a rule keeps the one it has
        ("apartment", True, _INTEGER),
        ("forward_numbers", True, _ENTITIES),
    ),
}


# What `import` takes, for the messages about a file that is neither.
EXAMPLE_EXPORT = '{"version": 1, "items": [{"link_id": 1, "forward_number": 101, "forward_entity_list": ["101"]}]}'
EXAMPLE_TABLE = '{"count": 1, "items": [{"apartment": 101, "forward_numbers": ["101"]}], "version": 1}'
FORMATS = f"`forwarding import` takes an export, {EXAMPLE_EXPORT}, or a panel forward table, {EXAMPLE_TABLE}"


class BadFile(ValueError):
    """The file cannot be imported; the message says where and why."""


def load(data, max_entities):
    """`(kind, rules)` from a file's bytes, as `read` gives them. Raises BadFile."""
    if not data.strip():
        raise BadFile(f"the file is empty; {FORMATS}")
    try:
        document = json.loads(data)
    except json.JSONDecodeError as error:
        raise BadFile(f"not JSON: {error.msg} at line {error.lineno} column {error.colno}; {FORMATS}") from None
    except UnicodeDecodeError:
        raise BadFile(f"not JSON: not UTF-8 text; {FORMATS}") from None
    except RecursionError:
        raise BadFile(f"not JSON that can be read: nested too deep; {FORMATS}") from None
    return read(document, max_entities)


def write(rules, out):
    """Write `(link_id, forward_number, entities)` rules to the text stream `out`; how many."""
    out.write(f'{{"version": {VERSION}, "items": [')
    count = 0
    for link_id, number, entities in rules:
        item = {"forward_number": number, "forward_entity_list": entities}
        if link_id is not None:
            item = {"link_id": link_id, **item}
        out.write(("\n  " if count == 0 else ",\n  ") + json.dumps(item))
        count += 1
    out.write("\n]}\n" if count else "]}\n")
    return count


def read(document, max_entities):
    """`(kind, rules)` from a parsed file: which format it is in, and its rules as
    `(link_id, forward_number, entities)`. Raises BadFile at the first problem."""
    if type(document) is not dict:
        raise BadFile(f"neither an export nor a panel forward table, but a JSON {_json_type(document)}; {FORMATS}")
    if not {"version", "items", "count"} & document.keys():
        raise BadFile(f"neither an export nor a panel forward table: no `version`, `items` or `count`; {FORMATS}")
    kind = LEGACY if "count" in document else OURS
    version = document.get("version")
    if type(version) is not int or version != VERSION:  # not `true` or `1.0`, which equal 1 in Python
        raise BadFile(f"`version` must be {VERSION}")
    items = document.get("items")
    if type(items) is not list:
        raise BadFile("`items` must be a list")
    if kind == LEGACY and document["count"] != len(items):
        raise BadFile(f"`count` is {_shown(document['count'])} but there are {len(items)} items")
    fields = _FIELDS[kind]
    first_index = ({}, {})  # link_id and forward_number, which are unique: key -> index of its item
    rules = []
    # What each field must be, checked as the API checks it, with the limit given.
    checks = {_INTEGER: is_int64, _ENTITIES: schemas.EntityList.checker(max_entities)}
    for index, item in enumerate(items):
        rule = _rule(index, item, fields, checks, max_entities)
        for (name, *_), key, first in zip(fields, rule, first_index):  # stops after the two keys
            # A key repeated in one file is a mistake, not "the last one wins".
            if name is not None and key is not None and first.setdefault(key, index) != index:
                raise BadFile(f"items[{index}]: `{name}` {key} is also in items[{first[key]}]")
        rules.append(rule)
    return kind, rules


def _rule(index, item, fields, checks, max_entities):
    if type(item) is not dict:
        raise BadFile(f"items[{index}] is not an object")
    values = []
    for name, required, expected in fields:
        if name not in item:
            if required:
                raise BadFile(f"items[{index}]: no value for `{name}`")
            values.append(None)
        elif checks[expected](item[name]):
            values.append(item[name])
        else:
            must_be = expected.format(max_entities)
            raise BadFile(f"items[{index}]: `{name}` must be {must_be}, not {_shown(item[name])}")
    return tuple(values)


def _json_type(value):
    return {list: "array", str: "string", bool: "true or false", type(None): "null"}.get(type(value), "number")


def _shown(value, limit=60):
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
