"""The panel's HTTP API: one blueprint that authenticates, parses JSON and answers."""

import json
import math

from flask import Blueprint, current_app, request
from marshmallow import ValidationError

from . import errors, messages, openapi, schemas
from .auth import auth, log_in
from .db import get_repo
from .errors import ApiError

bp = Blueprint("api", __name__)
errors.register(bp)


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


def read_json():
    """The request body as a JSON object, whatever the Content-Type says; else `Wrong JSON body`."""
    try:
        # Strict UTF-8: no byte-order mark, no lone surrogates.
        text = request.get_data(cache=False).decode("utf-8")
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
    return body


def validated(schema, data):
    with schemas.limits(max_entities=current_app.config["MAX_ENTITIES"]):
        try:
            return schema.load(data)
        except ValidationError as error:
            raise ApiError(schemas.describe(schema, error.messages)) from None


def _results(key, ids, outcomes):
    return {
        "result": [
            {key: id_, "success": outcome != messages.ENTITY_NOT_FOUND, "extended_info": outcome}
            for id_, outcome in zip(ids, outcomes)
        ]
    }


def _listed(query, **which):
    total, page = get_repo().list_rules(
        query["limit"], query["page_number"], descending=query["sort_type"] == "desc", **which
    )
    option = {
        "pagination": {
            "total_items": total,
            "items_limit": query["limit"],
            "total_pages": max(1, math.ceil(total / query["limit"])),
            "current_page": query["page_number"],
        },
        "sort": {
            "field": query["sort_field"],
            "asc": query["sort_type"] == "asc",
            "available_fields": ["forward_number"],
        },
    }
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
def put_link_items():
    items = validated(schemas.link_items, read_json())["list_items"]
    outcomes = get_repo().apply_link_items(items)
    return _results("link_id", [link_id for link_id, _, _ in items], outcomes)


@bp.post("/api/v1/forward/item/<forward_uid>")
@auth.login_required
def put_item(forward_uid):
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
    ids = validated(schemas.uid_items, read_json())["uid_items"]
    return _results("uid", ids, get_repo().delete_rules(ids))


@bp.delete("/api/v1/forward/items/link")
@auth.login_required
def delete_link_items():
    ids = validated(schemas.link_ids, read_json())["link_ids"]
    return _results("link_id", ids, get_repo().delete_linked_rules(ids))
