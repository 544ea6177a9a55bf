"""The panel's HTTP API: one blueprint that authenticates, validates and answers.

Every endpoint is declared here, once (endpoint.py): its path, method, authentication, inputs,
answer and words, from which both its route and its OpenAPI operation come. In the order of
docs/api.md.
"""

import json
from datetime import UTC, datetime

from flask import Blueprint, current_app, g, request
from werkzeug.exceptions import NotFound

from . import answers, errors, messages, openapi, schemas
from .auth import log_in
from .db import get_rules, get_storage
from .endpoint import Endpoints
from .errors import ApiError
from .storage.history import HistoryPruned, Outcome
from .storage.rules import TooManyRules

bp = Blueprint("api", __name__)
errors.register(bp)
endpoint = Endpoints(bp)


@bp.before_app_request
def refuse_doubled_slashes():
    # Werkzeug would redirect `/a//b` to `/a/b` and answer `//a` as `/a`: such a path is unknown.
    if "//" in request.environ.get("PATH_INFO", ""):
        raise NotFound()


@bp.app_errorhandler(TooManyRules)
def _too_many_rules(error):
    return errors.error_response(messages.too_many_rules(error.limit), 400)


# What follows the id in an entry of `_results`, per outcome.
_RESULT_TAILS = {
    outcome: f'"success":{"false" if outcome is Outcome.NOT_FOUND else "true"},"extended_info":"{outcome.value}"}}'
    for outcome in Outcome
}


def _results(key, ids, outcomes):
    # Written as text, as Flask would encode it: a dict for each of up to 100,000 entries would
    # take many times the answer's size. The ids are integers and the outcomes plain words.
    head = f'{{"{key}":'
    entries = ",".join([f"{head}{id_},{_RESULT_TAILS[outcome]}" for id_, outcome in zip(ids, outcomes)])
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


@bp.after_request
def _login_never_stored(response):
    # The login's answer holds a token, or tells whether a password was right: no cache keeps it.
    if request.endpoint == "api.login":
        response.headers["Cache-Control"] = "no-store"
    return response


# A view's docstring is its summary, then its description, in the document.


@endpoint("GET", "/api/info", answer=answers.Info, public=True)
def info():
    """Device information

    Clients read `api_version` to pick request formats and `device_serial_number` to tell devices apart.
    """
    config = current_app.config
    return {
        "device_model": config["DEVICE_MODEL"],
        "firmware_version": config["FIRMWARE_VERSION"],
        "api_version": messages.API_VERSION,
        # The database's own, read each time: a restore (`forwarding restore`) may change it.
        "device_serial_number": config["DEVICE_SERIAL"] or get_storage().database.setting("device_serial"),
    }


_CREDENTIALS = {"parameters_missed": messages.PARAMETERS_MISSED, "wrong_login": messages.WRONG_LOGIN}


# The login reads its query itself (`own_query`): its two errors are not the schemas' kind.
@endpoint(
    "GET",
    "/api/v1/login",
    query=schemas.login_query,
    own_query=True,
    answer=answers.Token,
    errors={400: ("Missing or wrong credentials.", _CREDENTIALS)},
    public=True,
)
def login():
    """Log in

    Tokens live 2 hours by default, with no refresh: log in again after a 401. An `Authorization` header
    sent here is ignored.
    """
    username, password = request.args.get("username"), request.args.get("password")
    if not username or not password:
        raise ApiError(messages.PARAMETERS_MISSED)
    token = log_in(username, password)
    if token is None:
        raise ApiError(messages.WRONG_LOGIN)
    return {"token": token, "account_type": messages.ACCOUNT_TYPE}


@endpoint(
    "POST",
    "/api/v1/forward/items/link",
    body=schemas.link_items,
    answer=answers.PushResults,
    writes=True,
    adds_rules=True,
)
def push_link_items(body):
    """Create, update or remove many rules with their link_id

    Each element in order, in one transaction: a non-empty list creates or replaces the rule (which takes
    the link_id; another rule holding it is removed); an empty list removes it.
    """
    items = body["list_items"]
    outcomes = get_rules().apply_link_items(items, request_id=g.request_id)
    return _results("link_id", [link_id for link_id, _, _ in items], outcomes)


# An empty forward-uid is another path: 404.
@endpoint(
    "POST",
    "/api/v1/forward/item/<forward_uid>",
    path=schemas.forward_uid,
    body=schemas.forward_item,
    answer=answers.Empty,
    errors={404: "NotFound"},
    writes=True,
    adds_rules=True,
)
def set_item(path, body):
    """Create, replace or remove one rule

    Creates or replaces the rule, keeping its link_id; an empty list removes it.
    """
    number, entities = path["forward_uid"], body["forward_entity_list"]
    get_rules().put_rule(number, entities, request_id=g.request_id)
    return {}


@endpoint("GET", "/api/v1/forward/items", query=schemas.list_query, answer=answers.Page, conditional=True)
def list_items(query):
    """List rules

    Pages in forward_number order; a page past the end is empty.
    """
    return _listed(query)


@endpoint(
    "GET", "/api/v1/forward/items/link", query=schemas.link_list_query, answer=answers.LinkedPage, conditional=True
)
def list_link_items(query):
    """List the rules that have a link_id

    As the plain list, over the rules that have a link_id; `link_id` narrows it to that rule.
    """
    return _listed(query, linked=True, link_id=query["link_id"])


@endpoint("DELETE", "/api/v1/forward/items", body=schemas.uid_items, answer=answers.UidResults, writes=True)
def delete_items(body):
    """Delete rules by forward number

    Each id in order, in one transaction.
    """
    ids = body["uid_items"]
    return _results("uid", ids, get_rules().delete_rules(ids, request_id=g.request_id))


@endpoint("DELETE", "/api/v1/forward/items/link", body=schemas.link_ids, answer=answers.LinkIdResults, writes=True)
def delete_link_items(body):
    """Delete rules by link_id

    Each id in order, in one transaction.
    """
    ids = body["link_ids"]
    return _results("link_id", ids, get_rules().delete_linked_rules(ids, request_id=g.request_id))


def _support_read(rule, **declaration):
    """A read for support that no panel has (docs/api.md, 7), with an ETag (7.4)."""
    return endpoint("GET", rule, extension=True, conditional=True, **declaration)


_NO_RULE = ("No such rule (or an empty forward-uid).", {"not_found": messages.NOT_FOUND})
_PRUNED = ("The cursor can no longer see every record after `after_id`.", {"pruned": messages.HISTORY_PRUNED})


@_support_read(
    "/api/v1/forward/item/<forward_uid>", path=schemas.forward_uid, answer=answers.OneRule, errors={404: _NO_RULE}
)
def get_item(path):
    """One rule

    The rule of this forward_number as it is now, with its link_id when it has one.
    """
    number = path["forward_uid"]
    rule = get_rules().rule(number)
    if rule is None:
        raise ApiError(messages.NOT_FOUND, 404)
    return _rule(rule[0], rule[1], forward_number=number)


@_support_read("/api/v1/forward/history", query=schemas.history_query, answer=answers.History, errors={410: _PRUNED})
def history(query):
    """The history of changes

    Every change to a rule by any path, newest first: one record per rule a transaction changed, its net
    change (a write that changes nothing records nothing). A link_id moved by a push is two records: the old
    rule `deleted`, then the new one. The newest records are kept, as many as `FORWARDING_HISTORY_LIMIT`
    allows (docs/api.md, 7.2). With `after_id`, the records after that id, oldest first: a cursor to follow
    the changes by.
    """
    number, link_id, limit = query["forward_number"], query["link_id"], query["limit"]
    if query["after_id"] is not None:
        try:
            changes = get_rules().following(query["after_id"], limit, number, link_id)
        except HistoryPruned:
            raise ApiError(messages.HISTORY_PRUNED, 410) from None
        return {
            "list_items": [_change(change) for change in changes],
            "list_option": {"cursor": schemas.cursor(query["after_id"], changes[-1].id if changes else None, limit)},
        }
    total, changes = get_rules().history(limit, query["page_number"], number, link_id)
    return {
        "list_items": [_change(change) for change in changes],
        "list_option": {"pagination": schemas.pagination(total, query)},
    }


# No authentication: integrators generate clients from it.
@endpoint("GET", "/api/v1/openapi.json", answer=answers.Document, public=True)
def openapi_document():
    """This document

    The OpenAPI document of this API.
    """
    return openapi.document(current_app, endpoint)
