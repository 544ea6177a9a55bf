"""The panel's HTTP API: one blueprint that authenticates, parses JSON and answers."""

import json

from flask import Blueprint, current_app, request
from marshmallow import ValidationError
from werkzeug.exceptions import NotFound

from . import errors, messages, openapi, schemas
from .auth import auth, log_in
from .db import get_repo
from .errors import ApiError
from .limits import MAX_LIST_ELEMENTS, MEMORY_BESIDES_BODY, MEMORY_PER_BODY_BYTE
from .repository import Outcome

bp = Blueprint("api", __name__)
errors.register(bp)


@bp.before_app_request
def refuse_doubled_slashes():
    # Werkzeug would redirect `/a//b` to `/a/b` and answer `//a` as `/a`: such a path is unknown.
    if "//" in request.environ.get("PATH_INFO", ""):
        raise NotFound()


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
    values = len(data) - len(data.translate(None, b",[{"))
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


def validated(schema, data):
    with schemas.limits(max_entities=current_app.config["MAX_ENTITIES"]):
        try:
            return schema.load(data)
        except ValidationError as error:
            raise ApiError(schemas.describe(schema, error.messages)) from None


def _results(key, ids, outcomes):
    # Written as text, as Flask would encode it: a dict for each of up to 100,000 entries took
    # several times the answer's size. The ids are integers and the outcomes plain words.
    entries = ",".join(
        f'{{"{key}":{id_},"success":{"false" if outcome is Outcome.NOT_FOUND else "true"},'
        f'"extended_info":"{messages.EXTENDED_INFO[outcome]}"}}'
        for id_, outcome in zip(ids, outcomes)
    )
    return current_app.response_class(f'{{"result":[{entries}]}}\n', mimetype="application/json")


def _listed(query, **which):
    total, page = get_repo().list_rules(
        query["limit"], query["page_number"], descending=query["sort_type"] == "desc", **which
    )
    option = schemas.list_option(total, query)
    # The page is JSON already (SQLite made it); the rest is encoded as Flask would, compact.
    body = f'{{"list_items":{page},"list_option":{json.dumps(option, separators=(",", ":"))}}}\n'
    return current_app.response_class(body, mimetype="application/json")


@bp.get("/api/info")
def info():
    config = current_app.config
    return {
        "device_model": config["DEVICE_MODEL"],
        "firmware_version": config["FIRMWARE_VERSION"],
        "api_version": messages.API_VERSION,
        "device_serial_number": config["DEVICE_SERIAL"],
    }


@bp.get("/api/v1/openapi.json")
def openapi_document():
    return openapi.document(current_app)  # no authentication: integrators generate clients from it


@bp.after_request
def _login_never_stored(response):
    # The login's answer holds a token, or tells whether a password was right: no cache keeps it.
    if request.endpoint == "api.login":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/v1/login")
def login():
    username, password = request.args.get("username"), request.args.get("password")
    if not username or not password:
        raise ApiError(messages.PARAMETERS_MISSED)
    token = log_in(username, password)
    if token is None:
        raise ApiError(messages.WRONG_LOGIN)
    return {"token": token, "account_type": messages.ACCOUNT_TYPE}


@bp.post("/api/v1/forward/items/link")
@auth.login_required
def push_link_items():
    items = validated(schemas.link_items, read_json("list_items"))["list_items"]
    outcomes = get_repo().apply_link_items(items)
    return _results("link_id", [link_id for link_id, _, _ in items], outcomes)


@bp.post("/api/v1/forward/item/<forward_uid>")
@auth.login_required
def set_item(forward_uid):
    number = validated(schemas.forward_uid, {"forward-uid": forward_uid})["forward_uid"]
    entities = validated(schemas.forward_item, read_json())["forward_entity_list"]
    get_repo().put_rule(number, entities)
    return {}


@bp.get("/api/v1/forward/items")
@auth.login_required
def list_items():
    return _listed(validated(schemas.list_query, request.args))


@bp.get("/api/v1/forward/items/link")
@auth.login_required
def list_link_items():
    query = validated(schemas.link_list_query, request.args)
    return _listed(query, linked=True, link_id=query["link_id"])


@bp.delete("/api/v1/forward/items")
@auth.login_required
def delete_items():
    ids = validated(schemas.uid_items, read_json("uid_items"))["uid_items"]
    return _results("uid", ids, get_repo().delete_rules(ids))


@bp.delete("/api/v1/forward/items/link")
@auth.login_required
def delete_link_items():
    ids = validated(schemas.link_ids, read_json("link_ids"))["link_ids"]
    return _results("link_id", ids, get_repo().delete_linked_rules(ids))
