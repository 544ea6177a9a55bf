"""3,000 hostile requests, written as raw bytes, through the shipped nginx and uWSGI: every answer,
whoever makes it, is JSON (docs/api.md, section 8). The requests come from a seeded generator:
the same ones on every run."""

import base64
import concurrent.futures
import json
import random
from collections import Counter

import pytest

from tests.e2e.deployment import raw_request
from tests.helpers import ITEMS, LINK_ITEMS, LOGIN, MD5_123456

pytestmark = pytest.mark.e2e

SEED = 13
COUNT = 3000
CLIENTS = 8  # at once: well under nginx's 32 requests in progress per address (limit_conn)
TLS_SHARE = 0.1  # of the requests go, in plain HTTP, to the HTTPS port

PATHS = [
    "/api/info",
    "/api/v1/openapi.json",
    f"{LOGIN}?username=admin&password={MD5_123456}",
    f"{LOGIN}?username=admin&password=%zz",
    ITEMS,
    f"{ITEMS}?limit=1001&page_number=-1",
    LINK_ITEMS,
    "/api/v1/forward/item/101",
    "/api/v1/forward/item/",
    "/",
    "//api//info",
    "/api/v1//forward/items",
    "/api/v1/login%3Fusername=admin",
    "/.forwarding-errors/400",
    "*",
    "http://localhost/api/info",
]
# Fragments a path is given at a random place: bad escapes, controls, traversal, doubled slashes.
PATH_NOISE = ["%00", "%zz", "%", "%2", "%2f", "%2F..", "%5c", "%ff", "%c0%af", "\\", "/../..", "/./", "//", "#x", "?"]
PATH_NOISE += ["\x00", "\x01", "\x7f", "\xff", "\t", " ", "\r", ";a=b", "%0d%0aX: y", "\u00e9", "?q=%00"]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "FOO"]
BAD_METHODS = ["get", "G ET", "GET\x00", "", "\xff\xfe", "GET /", "-", "P" * 40, "\r\nGET"]
VERSIONS = ["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/3", "HTTP/0.9", "HTTP/1.2", "HTTP/9.9", "HTTP/1", "http/1.1"]
VERSIONS += ["HTTP/1.1x", "HTTP/01.1", "HTTP/1.10", "ICAP/1.0", "HTTP/-1.1", "", "HTTP/1.1 extra"]
CHUNKED_BODIES = ["zz\r\n\r\n", "-1\r\n\r\n", "ffffffffffffffffffff\r\n", "2\r\nabcdef\r\n0\r\n\r\n", "2\nab\n0\n\n"]
CHUNKED_BODIES += [
    "0x2\r\nab\r\n0\r\n\r\n",
    "2;\x00\r\nab\r\n0\r\n\r\n",
    "0\r\nX: \x00\r\n\r\n",
    "2\r\n{}\r\n0\r\n\r\n",
]
CONTENT_TYPES = ["application/json; charset=utf-7", "text/html", "multipart/form-data", ""]


def header_mutations(rng):
    """Header lines (as text) with something wrong, or merely unusual, in them."""
    length = rng.choice([9000, 20000, 70000])
    return rng.choice(
        [
            [],
            ["Host: localhost"],  # a second Host
            [f"Host: {rng.choice(['', 'a b', '[::1', 'x/../y', '..', 'a' * 300, chr(0)])}"],
            [f"X-Long: {'a' * length}"],
            [f"Cookie: {'c=' * (length // 2)}"],
            [f"X-{number}: {number}" for number in range(rng.choice([100, 1000, 5000]))],
            ["No colon here"],
            [" folded continuation"],
            ["X-Bad\x00: y", "X-Ctl: \x01\x7f"],
            [": empty name"],
            ["Bad Name: y", "Under_score: y", "X-\xff: y"],
            [f"Content-Length: {rng.choice(['-1', 'abc', '99999999999999999999', '1, 2', ' 0', '0x10', '+1'])}"],
            ["Content-Length: 0", "Content-Length: 5"],
            [f"Transfer-Encoding: {rng.choice(['gzip', 'chunked, chunked', 'identity', 'chunked ', 'Chunked', 'x'])}"],
            ["Transfer-Encoding: chunked", "Content-Length: 3"],
            ["Expect: 100-continue"],
            ["Expect: 200-nothing"],
            [f"Authorization: {rng.choice(['Bearer ' + chr(0), 'Basic !!!', 'Basic', 'Bearer ' + 'a' * 5000])}"],
            [f"Authorization: Basic {base64.b64encode(rng.randbytes(30)).decode()}"],
            [f"Content-Type: {rng.choice(CONTENT_TYPES)}"],
            ["Connection: upgrade", "Upgrade: websocket"],
            ["Range: bytes=0-1,1-2,2-3"],
            ["X-Forwarded-For: 10.0.0.1", "X-Real-IP: 1.2.3.4"],
        ]
    )


def request_line(rng):
    method = rng.choice(METHODS) if rng.random() < 0.9 else rng.choice(BAD_METHODS)
    path = rng.choice(PATHS)
    for _ in range(rng.choice([0, 0, 0, 0, 1, 2])):
        place = rng.randrange(len(path) + 1)
        path = path[:place] + rng.choice(PATH_NOISE) + path[place:]
    if rng.random() < 0.03:
        path += "/" + "a" * rng.choice([5000, 9000, 40000])  # over-long URIs
    version = rng.choice(VERSIONS[:2]) if rng.random() < 0.8 else rng.choice(VERSIONS)
    return method, f"{method} {path} {version}".rstrip(" ")


def body(rng):
    return rng.choice(
        [
            b"",
            b"{}",
            b'{"list_items": [{"link_id": 1, "forward_number": 1, "forward_entity_list": []}]}',
            b'{"list_items": "',
            rng.randbytes(rng.randrange(1, 300)),
            b"[" * 5000,
        ]
    )


def hostile_request(rng):
    """`(bytes, is a HEAD, to the HTTPS port)`: one request, complete (nginx never waits for more)."""
    if rng.random() < 0.05:  # bytes that are no HTTP at all; a TLS ClientHello's start to the plain port
        garbage = rng.choice([rng.randbytes(rng.randrange(1, 2000)), b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"])
        return garbage + b"\r\n\r\n", False, False
    method, line = request_line(rng)
    headers = ["Host: localhost", "Connection: close", *(header_mutations(rng) if rng.random() < 0.3 else [])]
    rng.shuffle(headers)
    content = body(rng)
    if any(header.lower().startswith("transfer-encoding: chunked") for header in headers):
        content = rng.choice(CHUNKED_BODIES).encode()
    elif rng.random() < 0.5 and not any(header.lower().startswith("content-length") for header in headers):
        headers.append(f"Content-Length: {len(content)}")
    text = "\r\n".join([line, *headers, "", ""])
    return text.encode("latin-1") + content, method == "HEAD", rng.random() < TLS_SHARE


def not_json(answer, head):
    """What is wrong with `answer`, or None if it is JSON (a HEAD's answer has its type, no body)."""
    if answer.status is None:  # HTTP/0.9: a bare body
        return None if is_json_object(answer.body) else "an HTTP/0.9 body"
    if answer.headers.get("Content-Type") != "application/json":
        return f"Content-Type {answer.headers.get('Content-Type')}"
    return None if head or is_json_object(answer.body) else "the body"


def is_json_object(body):
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


def test_no_answer_to_3000_hostile_requests_is_anything_but_json(deployment):
    rng = random.Random(SEED)
    requests = [hostile_request(rng) for _ in range(COUNT)]

    def send(request):
        data, head, tls = request
        return raw_request(deployment.nginx.tls_port if tls else deployment.nginx.port, data, head)

    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        answered = [(request, answer) for request, answer in zip(requests, pool.map(send, requests)) if answer]

    wrong = [
        (problem, answer.status, data[:100], answer.body[:60])
        for (data, head, _), answer in answered
        if (problem := not_json(answer, head))
    ]
    assert wrong == [], f"{len(wrong)} answers of {len(answered)} not JSON; the first: {wrong[:5]}"
    # nginx's own refusals, its login limit, the service's answers and HTTP/0.9's (None) were all
    # reached, and nearly every request was answered.
    statuses = Counter(answer.status for _, answer in answered)
    assert {200, 400, 401, 404, 405, 414, 429, 501, None} <= set(statuses), statuses
    assert len(answered) > 0.98 * COUNT, statuses
