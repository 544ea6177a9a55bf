"""The panel's HTTP API: one blueprint that authenticates, validates and answers."""

import json
from datetime import UTC, datetime

from flask import Blueprint, current_app, g, request
from marshmallow import ValidationError
from werkzeug.exceptions import NotFound

from . import errors, messages, openapi, schemas
from .auth import auth, log_in
from .db import get_rules, get_storage
from .errors import ApiError
from .jsonbody import read_json
from .storage.rules import Outcome

bp = Blueprint("api", __name__)
errors.register(bp)


@bp.before_app_request
def refuse_doubled_slashes():
    # Werkzeug would redirect `/a//b` to `/a/b` and answer `//a` as `/a`: such a path is unknown.
    if "//" in request.environ.get("PATH_INFO", ""):
        raise NotFound()


def validated(schema, data):
    with schemas.limits(max_entities=current_app.config["MAX_ENTITIES"]):
        try:
            return schema.load(data)
        except ValidationError as error:
            raise ApiError(schemas.describe(schema, error.messages)) from None


def _results(key, ids, outcomes):
    # Written as text, as Flask would encode it: a dict for each of up to 100,000 entries would
    # take many times the answer's size. The ids are integers and the outcomes plain words.
    entries = ",".join(
        f'{{"{key}":{id_},"success":{"false" if outcome is Outcome.NOT_FOUND else "true"},'
        f'"extended_info":"{outcome.value}"}}'
        for id_, outcome in zip(ids, outcomes)
    )
    return current_app.response_class(f'{{"result":[{entries}]}}\n', mimetype="application/json")


def _listed(query, linked=False, link_id=None):
    limit, page_number, descending = query["limit"], query["page_number"], query["sort_type"] == "desc"
    if linked:
        total, page = get_rules().linked_page(limit, page_number, descending, link_id)
    else:
        total, page = get_rules().page(limit, page_number, descending)
    option = schemas.list_option(total, query)
    # The page is JSON already (SQLite made it); the rest is encoded as Flask would, compact.
    body = f'{{"list_items":{page},"list_option":{json.dumps(option, separators=(",", ":"))}}}\n'
    return current_app.response_class(body, mimetype="application/json")


def _rule(link_id, entities, **number):
    """A rule as the extensions show it (docs/api.md, section 7): `link_id` first, and only when it has one."""
    shown = {} if link_id is None else {"link_id": link_id}
    return {**shown, **number, "forward_entity_list": entities}


def _utc(time_ms):
    """ISO 8601 in UTC with milliseconds and `Z`: `2026-11-30T10:15:04.120Z`."""
    return f"{datetime.fromtimestamp(time_ms // 1000, UTC):%Y-%m-%dT%H:%M:%S}.{time_ms % 1000:03d}Z"


def _change(change):
    """A record of the history, keys in the order of docs/api.md, 7.2."""
    shown = {"id": change.id, "time": _utc(change.time_ms), "source": change.source.value}
    if change.request_id is not None:
        shown["request_id"] = change.request_id
    return {
        **shown,
        "forward_number": change.forward_number,
        "action": change.action.value,
        "before": change.before and _rule(*change.before),
        "after": change.after and _rule(*change.after),
    }


@bp.get("/api/info")
def info():
    config = current_app.config
    return {
        "device_model": config["DEVICE_MODEL"],
        "firmware_version": config["FIRMWARE_VERSION"],
        "api_version": messages.API_VERSION,
        # The database's own, read each time: a restore (`forwarding restore`) may change it.
        "device_serial_number": config["DEVICE_SERIAL"] or get_storage().database.setting("device_serial"),
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
    outcomes = get_rules().apply_link_items(items, request_id=g.request_id)
    return _results("link_id", [link_id for link_id, _, _ in items], outcomes)


@bp.post("/api/v1/forward/item/<forward_uid>")
@auth.login_required
def set_item(forward_uid):
    number = validated(schemas.forward_uid, {"forward-uid": forward_uid})["forward_uid"]
    entities = validated(schemas.forward_item, read_json())["forward_entity_list"]
    get_rules().put_rule(number, entities, request_id=g.request_id)
    return {}


@bp.get("/api/v1/forward/item/<forward_uid>")
@auth.login_required
def get_item(forward_uid):
    number = validated(schemas.forward_uid, {"forward-uid": forward_uid})["forward_uid"]
    rule = get_rules().rule(number)
    if rule is None:
        raise ApiError(messages.NOT_FOUND, 404)
    return _rule(rule[0], rule[1], forward_number=number)


@bp.get("/api/v1/forward/history")
@auth.login_required
def history():
    query = validated(schemas.history_query, request.args)
    total, changes = get_rules().history(
        query["limit"], query["page_number"], query["forward_number"], query["link_id"]
    )
    return {
        "list_items": [_change(change) for change in changes],
        "list_option": {"pagination": schemas.pagination(total, query)},
    }


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
    return _results("uid", ids, get_rules().delete_rules(ids, request_id=g.request_id))


@bp.delete("/api/v1/forward/items/link")
@auth.login_required
def delete_link_items():
    ids = validated(schemas.link_ids, read_json("link_ids"))["link_ids"]
    return _results("link_id", ids, get_rules().delete_linked_rules(ids, request_id=g.request_id))
