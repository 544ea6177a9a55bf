"""Each endpoint declared once: its route, its checks and its OpenAPI operation come from one `Endpoint`.

`endpoint = Endpoints(bp)`, then `@endpoint("GET", "/path/<name>", ...)` on a view, whose docstring
is the document's summary and description. The view is registered on the blueprint behind the
authentication (unless public) and the checks of its inputs in the order of docs/api.md, 5.3: the
path's values, the query, a slot among the writes in progress (for a write), then the body; it
gets what they loaded as `path`, `query` and `body`. openapi.py builds the document from the same
declarations.
"""

import functools
import inspect
import re
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from flask import current_app, request
from marshmallow import Schema, ValidationError

from . import conditional, messages, schemas, slots
from .auth import auth
from .errors import ApiError
from .jsonbody import read_json
from .storage.database import WRITE_SLOTS_SUFFIX

RETRY_AFTER_SECONDS = 1  # a 100,000-rule push takes seconds; a rule's write, milliseconds


def validated(schema, data):
    with schemas.limits(max_entities=current_app.config["MAX_ENTITIES"]):
        try:
            return schema.load(data)
        except ValidationError as error:
            raise ApiError(schemas.describe(schema, error.messages)) from None


# Clients repeat the same few queries (a list page, a poll): a short one's check is kept, as its
# result; a bad one raises and is checked again each time.
_KEPT_QUERY_BYTES = 256


@functools.lru_cache(maxsize=256)
def _checked_query(schema, query_string):
    return validated(schema, request.args)


def validated_query(schema):
    if len(request.query_string) > _KEPT_QUERY_BYTES:
        return validated(schema, request.args)
    return dict(_checked_query(schema, request.query_string))


@dataclass(frozen=True)
class Endpoint:
    """One endpoint. `errors`: its error answers besides those its inputs and authentication give,
    by status: the name of one of the document's shared answers, or `(description, {name: message})`."""

    method: str  # as OpenAPI writes it: lower case
    rule: str  # Flask's: `<name>` for the value of the path schema's field `name`
    name: str  # the view's
    summary: str  # the first line of the view's docstring
    description: str  # the rest of it, one paragraph
    answer: type[Schema]  # an answers.Answer
    path: Schema | None = None
    query: Schema | None = None
    body: Schema | None = None
    public: bool = False  # no authentication
    own_query: bool = False  # the view reads its query itself: `query` only documents it
    extension: bool = False  # a support extension, which no panel has
    conditional: bool = False  # a read with an ETag, answered 304 to a matching If-None-Match (conditional.py)
    errors: dict = field(default_factory=dict)
    # A write: it takes one of the WRITES_IN_PROGRESS slots before its body is read, or is 429.
    writes: bool = False
    adds_rules: bool = False  # it may create rules: 400 past MAX_RULES

    @property
    def checked_query(self):
        return None if self.own_query else self.query

    @property
    def path_template(self):
        """The path as OpenAPI writes it: `{forward-uid}`, the name that clients see."""
        return re.sub(r"<(\w+)>", lambda match: "{" + _path_keys(self.path)[match[1]] + "}", self.rule)

    @property
    def list_name(self):
        """The body's list of items or ids: over MAX_LIST_ELEMENTS elements is 413 before any is checked."""
        lists = (schemas.ItemList, schemas.IdList)
        return next((name for name, f in self.body.load_fields.items() if isinstance(f, lists)), None)


def _path_keys(schema):
    """Flask's name of each path value -> the name that the schema loads it from and reports."""
    return {name: f.data_key or name for name, f in schema.load_fields.items()} if schema else {}


class Endpoints:
    """The declarations of a blueprint's endpoints, in order; `@endpoints(method, rule, ...)` adds one."""

    def __init__(self, bp):
        self.bp = bp
        self.declared = []

    def __iter__(self):
        return iter(self.declared)

    def __call__(self, method, rule, **declaration):
        def register(view):
            summary, description = inspect.cleandoc(view.__doc__).split("\n\n", 1)
            endpoint = Endpoint(
                method.lower(), rule, view.__name__, summary, " ".join(description.split()), **declaration
            )
            self.declared.append(endpoint)
            checked = _checking(endpoint, view)
            checked = checked if endpoint.public else auth.login_required(checked)
            self.bp.add_url_rule(rule, view.__name__, checked, methods=[method])
            return view

        return register


def _checking(endpoint, view):
    """The view behind the checks of its inputs, in the order of docs/api.md, 5.3."""
    path_keys = _path_keys(endpoint.path)
    query = endpoint.checked_query
    body, list_name = endpoint.body, endpoint.body and endpoint.list_name

    def checked(**values):
        inputs = {}
        if path_keys:
            inputs["path"] = validated(endpoint.path, {path_keys[name]: value for name, value in values.items()})
        if query is not None:
            inputs["query"] = validated_query(query)
        if endpoint.conditional:
            return conditional.answer(endpoint.name, view, inputs)
        with _write_slot() if endpoint.writes else nullcontext():
            if body is not None:
                inputs["body"] = validated(body, read_json(list_name))
            return view(**inputs)

    checked.__name__ = view.__name__
    return checked


@contextmanager
def _write_slot():
    """One of the WRITES_IN_PROGRESS slots, held while the body is read and written, or 429 at once.

    Taken after authentication and before the body is parsed: the body is the cost (parsing up to
    16 MiB, then the write). Never waited for: writers queued behind the write lock would hold
    every worker while reads wait (docs/design.md).
    """
    with slots.of_app(current_app, WRITE_SLOTS_SUFFIX, "WRITES_IN_PROGRESS").try_take() as taken:
        if not taken:
            raise ApiError(messages.TOO_MANY_REQUESTS, 429, {"Retry-After": str(RETRY_AFTER_SECONDS)})
        yield
