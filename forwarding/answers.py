"""What each answer is: the marshmallow schemas that the endpoints declare (api.py).

The OpenAPI document states them (openapi.py) and the tests hold every real answer to them. The
rules' shapes come from the request schemas (`schemas.LinkItem`); each schema here carries the
words and the examples the document gives its answer. `unknown = RAISE` becomes
`additionalProperties: false`: every key is listed.
"""

from marshmallow import INCLUDE, RAISE, Schema, fields, validate

from . import messages, schemas
from .limits import INT64_MAX
from .storage.history import Outcome, Source


class Answer(Schema):
    """An answer: `description` and `examples` (name -> value) are the document's."""

    description = ""
    examples = {}

    class Meta:
        unknown = RAISE


class Info(Answer):
    description = "The device."
    examples = {
        "info": {
            "device_model": "forwarding",
            "firmware_version": "1.0.0",
            "api_version": messages.API_VERSION,
            "device_serial_number": "3F2A9C04B1D7E6A8",
        }
    }

    device_model = fields.String(required=True)
    firmware_version = fields.String(required=True)
    api_version = fields.String(required=True, validate=validate.OneOf([messages.API_VERSION]))
    device_serial_number = fields.String(required=True)


class Token(Answer):
    description = "A new token."
    examples = {"token": {"token": "cb211ea5-d7ba-41dc-ae8d-05e6605c3c6b", "account_type": messages.ACCOUNT_TYPE}}

    token = fields.UUID(required=True, metadata={"description": "Send it as `Authorization: Bearer <token>`."})
    account_type = fields.String(required=True, validate=validate.OneOf([messages.ACCOUNT_TYPE]))


class Empty(Answer):
    description = "Done."
    examples = {"done": {}}


class OneOf:
    """An answer of one of several shapes (answers), by the request: the document's `oneOf`."""

    def __init__(self, description, *shapes):
        self.description = description
        self.shapes = shapes
        self.examples = {name: value for shape in shapes for name, value in shape.examples.items()}


class Document(Answer):
    description = "The document."

    class Meta:
        unknown = INCLUDE


# -- the rules and their lists -------------------------------------------------------------------

_RULE = {"forward_number": 101, "forward_entity_list": ["sip:100@sip.bas-ip.com", "vizit:123"]}
_ABSENT_WITHOUT = {"description": "Absent when the rule has none."}


class LinkedRule(Answer, schemas.LinkItem):
    pass


class Rule(LinkedRule):
    class Meta:
        unknown = RAISE
        exclude = ("link_id",)


class OneRule(LinkedRule):
    description = "The rule."
    examples = {"rule": {"link_id": 101, **_RULE}}

    link_id = schemas.Int64(metadata=_ABSENT_WITHOUT)


class RuleState(OneRule):
    class Meta:
        unknown = RAISE
        exclude = ("forward_number",)


class Pagination(Schema):
    total_items = fields.Integer(required=True, validate=validate.Range(min=0))
    items_limit = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    total_pages = fields.Integer(required=True, validate=validate.Range(min=1))
    current_page = fields.Integer(required=True, validate=validate.Range(min=1, max=INT64_MAX))


_SORT_FIELDS = validate.OneOf(schemas.SORT_FIELDS)


class Sort(Schema):
    field = fields.String(required=True, validate=_SORT_FIELDS)
    asc = fields.Boolean(required=True)
    available_fields = fields.List(fields.String(validate=_SORT_FIELDS), required=True)


class ListOption(Schema):
    pagination = fields.Nested(Pagination, required=True)
    sort = fields.Nested(Sort, required=True)


_LIST_OPTION = schemas.list_option(18, schemas.list_query.load({}))


class Page(Answer):
    description = "One page."
    examples = {"page": {"list_items": [_RULE], "list_option": _LIST_OPTION}}

    list_items = fields.List(fields.Nested(Rule), required=True)
    list_option = fields.Nested(ListOption, required=True)


class LinkedPage(Page):
    examples = {"page": {"list_items": [{"link_id": 101, **_RULE}], "list_option": _LIST_OPTION}}

    list_items = fields.List(fields.Nested(LinkedRule), required=True)


# -- the bulk writes' outcomes -------------------------------------------------------------------

_SUCCESS = {"description": "False exactly when `extended_info` is `entity_not_found`."}


def _results(name, key, outcomes, description, *entries):
    """`{"result": [...]}`, one `{key, success, extended_info}` per element, `outcomes` its words."""
    result = Schema.from_dict(
        {
            key: schemas.Int64(required=True),
            "success": fields.Boolean(required=True, metadata=_SUCCESS),
            "extended_info": fields.String(required=True, validate=validate.OneOf([o.value for o in outcomes])),
        },
        name=name.removesuffix("s"),
    )
    example = [{key: id_, "success": o is not Outcome.NOT_FOUND, "extended_info": o.value} for id_, o in entries]
    attributes = {"result": fields.List(fields.Nested(result), required=True)}
    return type(
        name, (Answer,), {**attributes, "description": description, "examples": {"result": {"result": example}}}
    )


_DELETES = (Outcome.DELETED, Outcome.NOT_FOUND)
PushResults = _results(
    "PushResults", "link_id", list(Outcome), "One outcome per element, in order.", (101, Outcome.CREATED)
)
UidResults = _results(
    "UidResults", "uid", _DELETES, "One outcome per id, in order.", (101, Outcome.DELETED), (102, Outcome.NOT_FOUND)
)
LinkIdResults = _results("LinkIdResults", "link_id", _DELETES, "One outcome per id, in order.", (101, Outcome.DELETED))


# -- the history (an extension: panels keep none) -------------------------------------------------

_STATE = {"description": "The rule before (after) the change; null where there was none."}
_CHANGE_ACTIONS = [Outcome.CREATED.value, Outcome.UPDATED.value, Outcome.DELETED.value]


class HistoryRecord(Schema):
    id = fields.Integer(required=True, validate=validate.Range(min=1), metadata={"description": "Increasing."})
    time = fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"),
        metadata={"format": "date-time", "description": "When the change was committed, UTC, with milliseconds."},
    )
    source = fields.String(required=True, validate=validate.OneOf([source.value for source in Source]))
    request_id = fields.String(
        validate=validate.Regexp("^[A-Za-z0-9._-]{1,64}$"),
        metadata={"description": "The request's `X-Request-ID`; absent for the operator's import."},
    )
    forward_number = schemas.Int64(required=True)
    action = fields.String(required=True, validate=validate.OneOf(_CHANGE_ACTIONS))
    before = fields.Nested(RuleState, required=True, allow_none=True, metadata=_STATE)
    after = fields.Nested(RuleState, required=True, allow_none=True, metadata=_STATE)


class HistoryOption(Schema):
    pagination = fields.Nested(Pagination, required=True)


_HISTORY_RECORD = {
    "id": 42,
    "time": "2026-11-30T10:15:04.120Z",
    "source": Source.LINK.value,
    "request_id": "8c5e2d0f6b1a4e7c9d3f2a1b0c9d8e7f",
    "forward_number": 101,
    "action": Outcome.UPDATED.value,
    "before": {"link_id": 1, "forward_entity_list": ["1001"]},
    "after": {"link_id": 1, "forward_entity_list": ["1001", "vizit:101"]},
}


class HistoryPage(Answer):
    description = "One page, newest first."
    examples = {
        "page": {
            "list_items": [_HISTORY_RECORD],
            "list_option": {"pagination": schemas.pagination(1, schemas.history_query.load({}))},
        }
    }

    list_items = fields.List(fields.Nested(HistoryRecord), required=True)
    list_option = fields.Nested(HistoryOption, required=True)


class Cursor(Schema):
    after_id = fields.Integer(required=True, validate=validate.Range(min=0, max=INT64_MAX))
    next_after_id = fields.Integer(
        required=True,
        validate=validate.Range(min=0, max=INT64_MAX),
        metadata={"description": "The last record's id, or `after_id` when there is none: the next request's."},
    )
    items_limit = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))


class CursorOption(Schema):
    cursor = fields.Nested(Cursor, required=True)


class HistoryAfter(Answer):
    description = "With `after_id`: the records after it, oldest first."
    examples = {
        "after": {
            "list_items": [_HISTORY_RECORD],
            "list_option": {"cursor": schemas.cursor(41, _HISTORY_RECORD["id"], 100)},
        }
    }

    list_items = fields.List(fields.Nested(HistoryRecord), required=True)
    list_option = fields.Nested(CursorOption, required=True)


History = OneOf(
    "One page, newest first; or, with `after_id`, the records after it, oldest first.", HistoryPage, HistoryAfter
)
