"""Plain helpers for the tests (fixtures live in conftest.py)."""

import base64
import json
import math

MD5_123456 = "e10adc3949ba59abbe56e057f20f883e"  # what a client sends as the factory password
INT64_MAX = 2**63 - 1
LINK_ITEMS = "/api/v1/forward/items/link"
# Paths of /api/v1/forward/item/<forward_number> that are not an integer in range (contract 5.2).
BAD_FORWARD_UIDS = [
    "abc",
    "0",
    "-1",
    "1.5",
    str(INT64_MAX + 1),
    str(2**64),
    "\u0661\u0660\u0661",
    "%D9%A1",
    "+5",
    "%205",
    "5%0A",
    "1e3",
    "0x10",
    "101abc",
]


def basic(username, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def item(link_id, forward_number, *entities):
    """One element of `list_items`."""
    return {"link_id": link_id, "forward_number": forward_number, "forward_entity_list": list(entities)}


def push(client, headers, *items):
    """POST the items to the bulk link endpoint as the Link management system does."""
    return client.post(LINK_ITEMS, json={"list_items": list(items)}, headers=headers)


def result(*entries):
    """The bulk endpoint's 200 body for `(link_id, extended_info)` entries."""
    return {
        "result": [
            {"link_id": link_id, "success": outcome != "entity_not_found", "extended_info": outcome}
            for link_id, outcome in entries
        ]
    }


def assert_json(response, status, body):
    """`response` is `status` with a JSON Content-Type and the JSON `body`, keys in the same order."""
    assert answer(response) == expected(status, body)


def assert_error(response, status, message):
    assert_json(response, status, {"error": message})


def stored_rules(repo):
    """Every rule in the database as `{forward_number: (link_id, entities)}`."""
    rows = repo.db.execute("SELECT forward_number, link_id, entities FROM rules ORDER BY forward_number")
    return {number: (link_id, json.loads(entities)) for number, link_id, entities in rows}


def pairs(body):
    """A JSON text, or Python objects, with every object as a list of `[key, value]` pairs, so that
    comparing two of them compares the order of keys too."""
    text = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return json.loads(text, object_pairs_hook=lambda items: [list(item) for item in items])


def answer(response):
    """What a client sees: `(status, content type, body)`, the body as `pairs`."""
    return response.status_code, response.mimetype, pairs(response.get_data())


def expected(status, body):
    """The `answer` of a response that is `status` with the JSON `body`, keys in this order."""
    return status, "application/json", pairs(body)


def listed(items, total, limit=10, page=1, asc=True):
    """The whole body of a list answer (contract 5.3): `items` are the page's rules."""
    return {
        "list_items": items,
        "list_option": {
            "pagination": {
                "total_items": total,
                "items_limit": limit,
                "total_pages": max(1, math.ceil(total / limit)),
                "current_page": page,
            },
            "sort": {"field": "forward_number", "asc": asc, "available_fields": ["forward_number"]},
        },
    }
