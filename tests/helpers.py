"""What every test file shares: the requests a client makes, the answers and error strings it
gets (docs/api.md), and the rules stored. Fixtures live in conftest.py."""

import base64
import datetime
import hashlib
import json
import math
import os
import pty
import subprocess

# The contract's limits (docs/api.md), written out: a limit changed in the service must fail here.
INT64_MAX = 9223372036854775807  # 2**63 - 1: the largest forward_number, link_id, uid or page
MAX_LENGTH = 512  # characters in one entry of a forward_entity_list

LOGIN = "/api/v1/login"
ITEMS = "/api/v1/forward/items"
LINK_ITEMS = "/api/v1/forward/items/link"
# Paths of /api/v1/forward/item/<forward_number> that are not an integer in range (docs/api.md, 4.2).
BAD_FORWARD_UIDS = [
    "abc",
    "0",
    "-1",
    "1.5",
    str(2**63),  # one past the largest
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

# -- credentials ---------------------------------------------------------------------------------


def md5(password):
    """What a client sends as the login's `password`: the MD5 of the password, in hex."""
    return hashlib.md5(password.encode()).hexdigest()


MD5_123456 = "e10adc3949ba59abbe56e057f20f883e"  # md5("123456"): the factory password
WRONG_MD5 = "0" * 32  # the MD5 of no password anyone types

# The app without login throttling, for tests that fail thousands of logins on purpose.
NO_THROTTLE = {"LOGIN_MAX_FAILURES": 10**9, "LOGIN_ADDRESS_MAX_FAILURES": 10**9}


def local(timestamp):
    """A time as the log and the operator's commands show it: local, to the second, with its offset."""
    return datetime.datetime.fromtimestamp(timestamp).astimezone().isoformat(" ", "seconds")


def log_in(client, username="admin", password=MD5_123456, **kwargs):
    """The login as a client calls it; `kwargs` go to the test client (headers, environ)."""
    return client.get(LOGIN, query_string={"username": username, "password": password}, **kwargs)


def bearer(token, scheme="Bearer"):
    """Headers that authenticate with a login token."""
    return {"Authorization": f"{scheme} {token}"}


def basic(username, password, scheme="Basic"):
    """Headers that authenticate with HTTP Basic: the password itself, not its MD5."""
    return {"Authorization": f"{scheme} " + base64.b64encode(f"{username}:{password}".encode()).decode()}


# -- the 400s of a body or a query ---------------------------------------------------------------
# Written out rather than imported from forwarding.messages: a string changed there must fail here.

WRONG_JSON = "Wrong JSON body"


def no_value(name):
    return f"Wrong JSON body: no value for `{name}`"


def wrong_type(name):
    return f"Wrong JSON body: value `{name}` was of the wrong type"


# -- requests and answers ------------------------------------------------------------------------


def item(link_id, forward_number, *entities):
    """One element of `list_items`."""
    return {"link_id": link_id, "forward_number": forward_number, "forward_entity_list": list(entities)}


def push(client, headers, *items):
    """POST the items to the bulk link endpoint as the Link management system does."""
    return client.post(LINK_ITEMS, json={"list_items": list(items)}, headers=headers)


def result(*entries, key="link_id"):
    """The 200 body of a bulk push (or, with `key`, of a delete) for `(id, extended_info)` entries."""
    return {
        "result": [
            {key: id_, "success": outcome != "entity_not_found", "extended_info": outcome} for id_, outcome in entries
        ]
    }


def listed(items, total, limit=10, page=1, asc=True):
    """The whole body of a list answer: `items` are the page's rules."""
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


def assert_json(response, status, body):
    """`response` is `status` with a JSON Content-Type and the JSON `body`, keys in the same order."""
    assert answer(response) == expected(status, body)


def assert_error(response, status, message):
    assert_json(response, status, {"error": message})


# -- storage -------------------------------------------------------------------------------------


def stored_rules(repo):
    """Every rule in the database as `{forward_number: (link_id, entities)}`."""
    db = repo.database.connection
    rows = db.execute("SELECT forward_number, link_id, entities FROM rules ORDER BY forward_number")
    return {number: (link_id, json.loads(entities)) for number, link_id, entities in rows}


def set_password_on_a_terminal(command, cwd, env, password="on-a-terminal"):
    """`command set-password` on a pseudo-terminal, `password` typed at both prompts: `(exit code,
    what the terminal showed)`, its line ends as `\\n`. `env` is added to the environment less its
    FORWARDING_* variables."""
    primary, secondary = pty.openpty()
    environ = {name: value for name, value in os.environ.items() if not name.startswith("FORWARDING_")}
    process = subprocess.Popen(
        [command, "set-password"],
        cwd=cwd,
        env={**environ, **env},
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        start_new_session=True,
    )
    os.close(secondary)
    shown = b""
    try:
        for prompt in (b"New password: ", b"Repeat it: "):
            while prompt not in shown:
                shown += os.read(primary, 1024)
            os.write(primary, password.encode() + b"\n")
        code = process.wait(30)
        while chunk := os.read(primary, 1024):
            shown += chunk
    except OSError:  # the other end closed
        code = process.wait(30)
    finally:
        os.close(primary)
    return code, shown.decode().replace("\r\n", "\n")
