"""What a valid request is: the marshmallow schemas that every body, query and path goes through.

The fields check types strictly (an integer is a JSON integer: not `"101"`, `101.0`, `true` or
`null`) and report one of two codes, MISSING or WRONG_TYPE; `describe` turns the first problem,
in the order the request is read, into the panel's message.
"""

import math
import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema
from marshmallow.experimental.context import Context

from . import messages
from .limits import INT64_MAX, is_forward_entity, is_int64

MISSING = "missing"
WRONG_TYPE = "wrong_type"
_CODES = {"required": MISSING, "null": WRONG_TYPE, "invalid": WRONG_TYPE, "validator_failed": WRONG_TYPE}

_ASCII_DIGITS = re.compile(r"[0-9]{1,25}")
_ABSENT = object()  # a key missing from a JSON object (None would be JSON's null)

SORT_FIELDS = ("forward_number",)


def limits(max_entities):
    """The limits in force while loading; `with limits(...): schema.load(data)`."""
    return Context({"max_entities": max_entities})


def _max_entities():
    # A check run outside `limits(...)` is a mistake: it fails rather than guess a limit.
    try:
        return Context.get()["max_entities"]
    except LookupError:
        raise RuntimeError("schemas.limits(...) not in force") from None


class Int64(fields.Integer):
    """An integer 1 .. 2**63-1, given as a JSON integer."""

    default_error_messages = _CODES

    accepts = staticmethod(is_int64)

    @classmethod
    def checker(cls):
        """`accepts` for checking many values in one load (see EntityList.checker)."""
        return cls.accepts

    def _deserialize(self, value, attr, data, **kwargs):
        if not self.accepts(value):
            raise self.make_error("invalid")
        return value


class DigitString(fields.Integer):
    """An integer `minimum` .. `maximum` (1 .. 2**63-1 by default) written in ASCII digits: a query
    parameter or a path segment."""

    default_error_messages = _CODES

    def __init__(self, maximum=INT64_MAX, minimum=1, **kwargs):
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is str and _ASCII_DIGITS.fullmatch(value) and self.minimum <= int(value) <= self.maximum:
            return int(value)
        raise self.make_error("invalid")


class _CheckedList(fields.List):
    """A JSON array checked whole by `accepts`: any bad entry makes the list itself wrong."""

    default_error_messages = _CODES

    def _deserialize(self, value, attr, data, **kwargs):
        if not self.accepts(value):
            raise self.make_error("invalid")
        return value


class EntityList(_CheckedList):
    """forward_entity_list: up to the panel's limit of entries, each matching a pattern."""

    def __init__(self, **kwargs):
        super().__init__(fields.String(), **kwargs)

    @staticmethod
    def checker(max_entities=None):
        """`accepts` for checking many lists in one load: the limit given, or the one in force,
        is read once."""
        if max_entities is None:
            max_entities = _max_entities()
        return lambda value: type(value) is list and len(value) <= max_entities and all(map(is_forward_entity, value))

    @staticmethod
    def accepts(value):
        return EntityList.checker()(value)


class IdList(_CheckedList):
    """uid_items or link_ids: integers in the range of Int64."""

    def __init__(self, **kwargs):
        super().__init__(Int64(), **kwargs)

    @staticmethod
    def accepts(value):
        return type(value) is list and all(map(Int64.accepts, value))


class ItemList(fields.List):
    """list_items: objects of `schema`, loaded as tuples of its fields' values in its order.

    A Link push carries tens of thousands of items, so each item's fields are checked with
    their `checker` directly, in one pass, instead of through a full nested load; the first
    problem is reported as `{index: {field: [code]}}`, as a nested schema would report it.
    """

    default_error_messages = _CODES

    def __init__(self, schema, **kwargs):
        super().__init__(fields.Nested(schema), **kwargs)
        self._fields = tuple(schema().load_fields.items())

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is not list:
            raise self.make_error("invalid")
        checks = [(name, field.checker()) for name, field in self._fields]
        rows = []
        for index, item in enumerate(value):
            if type(item) is not dict:  # an element that is not an object: the list is wrong
                raise self.make_error("invalid")
            row = []
            for name, accepts in checks:
                field_value = item.get(name, _ABSENT)
                if field_value is _ABSENT:
                    raise ValidationError({index: {name: [MISSING]}})
                if not accepts(field_value):
                    raise ValidationError({index: {name: [WRONG_TYPE]}})
                row.append(field_value)
            rows.append(tuple(row))
        return rows


class _IgnoringUnknown(Schema):
    class Meta:
        unknown = EXCLUDE  # the vendor ignores keys it does not know


# The `metadata` descriptions and the bodies' `example`s are for the API's OpenAPI document (openapi.py).
_LINK_ID = {"description": "The management system's id of the rule; unique among the rules that have one."}
_FORWARD_NUMBER = {"description": "The panel's logical number of the apartment (floor + apartment); the rule's key."}
_ENTITIES = {
    "description": "The numbers the call is forwarded to, in calling order. In a push, an empty list removes the rule."
}
_IDS = {"description": "One outcome per id, in order; an id repeated is `entity_not_found` the second time."}


class LinkItem(_IgnoringUnknown):
    link_id = Int64(required=True, metadata=_LINK_ID)
    forward_number = Int64(required=True, metadata=_FORWARD_NUMBER)
    forward_entity_list = EntityList(required=True, metadata=_ENTITIES)


class LinkItems(_IgnoringUnknown):
    example = {
        "list_items": [
            {"link_id": 101, "forward_number": 101, "forward_entity_list": ["sip:100@sip.bas-ip.com", "vizit:123"]}
        ]
    }

    list_items = ItemList(LinkItem, required=True, metadata={"description": "Applied in order, in one transaction."})


class ForwardItem(_IgnoringUnknown):
    example = {"forward_entity_list": ["1001"]}

    forward_entity_list = EntityList(required=True, metadata=_ENTITIES)


class ForwardUid(_IgnoringUnknown):
    forward_uid = DigitString(required=True, data_key="forward-uid", metadata=_FORWARD_NUMBER)


class UidItems(_IgnoringUnknown):
    example = {"uid_items": [101, 102]}

    uid_items = IdList(required=True, metadata=_IDS)


class LinkIds(_IgnoringUnknown):
    example = {"link_ids": [101]}

    link_ids = IdList(required=True, metadata=_IDS)


class ListQuery(_IgnoringUnknown):
    limit = DigitString(maximum=1000, load_default=10, metadata={"description": "Rules per page."})
    page_number = DigitString(load_default=1, metadata={"description": "A page past the end is empty."})
    sort_field = fields.String(validate=validate.OneOf(SORT_FIELDS), load_default="forward_number")
    sort_type = fields.String(validate=validate.OneOf(["asc", "desc"]), load_default="asc")


class LinkListQuery(ListQuery):
    link_id = DigitString(load_default=None, metadata={"description": "Only the rule with this link_id."})


class HistoryQuery(_IgnoringUnknown):
    forward_number = DigitString(load_default=None, metadata={"description": "Only the changes to this rule."})
    link_id = DigitString(
        load_default=None, metadata={"description": "Only the changes whose rule had this link_id before or after."}
    )
    limit = DigitString(maximum=1000, load_default=100, metadata={"description": "Records per page."})
    page_number = DigitString(
        load_default=1, metadata={"description": "A page past the end is empty. Not with `after_id`."}
    )
    after_id = DigitString(
        minimum=0,
        load_default=None,
        metadata={"description": "The records after this id, oldest first, instead of a page (a cursor)."},
    )

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _page_or_cursor(self, data, original_data, **kwargs):
        # Given together, whatever their values, `page_number` is wrong: it comes first.
        if "page_number" in original_data and "after_id" in original_data:
            raise ValidationError([WRONG_TYPE], field_name="page_number")


class LoginQuery(Schema):
    """The login's query, for the document alone: the view reads it itself (its two errors are
    not the schemas' kind)."""

    username = fields.String(required=True, validate=validate.Length(min=1))
    password = fields.String(
        required=True,
        validate=validate.Regexp("^[0-9A-Fa-f]{32}$"),
        metadata={"description": "The MD5 hex digest of the password, either case."},
    )


def pagination(total, query):
    """The `pagination` of a list's answer, from a loaded query with `limit` and `page_number`."""
    return {
        "total_items": total,
        "items_limit": query["limit"],
        "total_pages": max(1, math.ceil(total / query["limit"])),
        "current_page": query["page_number"],
    }


def cursor(after_id, last_id, limit):
    """The `cursor` of a history answer by cursor: where it started, where to go on from (the last
    record's id, None when there is none), its limit."""
    return {"after_id": after_id, "next_after_id": after_id if last_id is None else last_id, "items_limit": limit}


def list_option(total, query):
    """The `list_option` of a list's answer: its pagination and its sort, from a loaded ListQuery."""
    return {
        "pagination": pagination(total, query),
        "sort": {
            "field": query["sort_field"],
            "asc": query["sort_type"] == "asc",
            "available_fields": list(SORT_FIELDS),
        },
    }


link_items = LinkItems()
forward_item = ForwardItem()
forward_uid = ForwardUid()
uid_items = UidItems()
link_ids = LinkIds()
list_query = ListQuery()
link_list_query = LinkListQuery()
history_query = HistoryQuery()
login_query = LoginQuery()


def describe(schema, errors):
    """The panel's message for the first problem in `errors`, marshmallow's error dictionary.

    The first problem is the first field in the schema's order, then inside a list of
    objects the first element; the name reported is the innermost field's JSON name.
    """
    for field_name, field in schema.load_fields.items():
        name = field.data_key or field_name
        if name in errors:
            break
    else:
        return messages.WRONG_JSON
    problem = errors[name]
    while isinstance(problem, dict):
        key = next(iter(problem))
        if isinstance(key, str) and key != "_schema":
            name = key
        problem = problem[key]
    return messages.no_value(name) if problem[0] == MISSING else messages.wrong_type(name)
