"""What nginx answers itself, each in JSON (docs/api.md, section 8): requests it refuses before
the service sees them, and a service that does not answer in time."""

import pytest

from tests.e2e.deployment import (
    NGINX_BAD_REQUEST,
    NGINX_INTERNAL_ERROR,
    NGINX_METHOD_NOT_ALLOWED,
    NGINX_NOT_FOUND,
    NGINX_NOT_IMPLEMENTED,
    NGINX_URI_TOO_LONG,
    PUSH,
    raw_request,
    write_lock,
)
from tests.helpers import bearer

pytestmark = pytest.mark.e2e

END = b"Host: localhost\r\nConnection: close\r\n\r\n"
CHUNKED = b"Transfer-Encoding: chunked\r\n" + END

# (request, status, body): refused in the request line, in the headers, in the body.
REFUSED = [
    (b"POST /api/v1/forward/item/%00 HTTP/1.1\r\n" + END, 400, NGINX_BAD_REQUEST),
    (b"GET /api/%zz HTTP/1.1\r\n" + END, 400, NGINX_BAD_REQUEST),
    (b"get /api/info HTTP/1.1\r\n" + END, 400, NGINX_BAD_REQUEST),
    (b"\x00\xff garbage\r\n\r\n", 400, NGINX_BAD_REQUEST),
    (b"GET /api/info HTTP/2.0\r\n" + END, 400, NGINX_BAD_REQUEST),  # nginx's 505
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + END, 414, NGINX_URI_TOO_LONG),
    (b"GET /api/info HTTP/1.1\r\nX-Long: " + b"a" * 9000 + b"\r\n" + END, 400, NGINX_BAD_REQUEST),  # nginx's 494
    (b"GET /api/info HTTP/1.1\r\n\r\n", 400, NGINX_BAD_REQUEST),  # no Host
    (b"POST /api/info HTTP/1.1\r\nContent-Length: -1\r\n" + END, 400, NGINX_BAD_REQUEST),
    (b"POST /api/info HTTP/1.1\r\nTransfer-Encoding: gzip\r\n" + END, 501, NGINX_NOT_IMPLEMENTED),
    (b"TRACE /api/info HTTP/1.1\r\n" + END, 405, NGINX_METHOD_NOT_ALLOWED),
    (b"GET /.forwarding-errors/400 HTTP/1.1\r\n" + END, 404, NGINX_NOT_FOUND),  # the pages are nginx's own
    (b"POST " + PUSH.encode() + b" HTTP/1.1\r\n" + CHUNKED + b"zz\r\n\r\n", 400, NGINX_BAD_REQUEST),
    # A bad body met while nginx answers with another error page: its own page still.
    (b"TRACE /api/info HTTP/1.1\r\n" + CHUNKED + b"2\r\nabcdef\r\n0\r\n\r\n", 400, NGINX_BAD_REQUEST),
]


def test_requests_nginx_refuses_are_answered_in_json(deployment):
    answers = [raw_request(deployment.nginx.port, request) for request, _, _ in REFUSED]

    assert [(answer.status, answer.body) for answer in answers] == [(status, body) for _, status, body in REFUSED]
    assert {answer.headers["Content-Type"] for answer in answers} == {"application/json"}


def test_a_head_nginx_refuses_is_json_without_a_body(deployment):
    answer = raw_request(deployment.nginx.port, b"HEAD /api/%00 HTTP/1.1\r\n" + END, head=True)

    assert (answer.status, answer.headers["Content-Type"], answer.body) == (400, "application/json", b"")


def test_an_http_0_9_request_nginx_refuses_gets_a_bare_json_body(deployment):
    # HTTP/0.9 has no status line and no headers: the body is the whole answer.
    answer = raw_request(deployment.nginx.port, b"GET /api/%00\r\n")

    assert (answer.status, answer.body) == (None, NGINX_BAD_REQUEST)


def test_options_and_doubled_slashes_pass_nginx_as_the_service_answers_them(deployment):
    options = deployment.request("OPTIONS", "/api/v1/forward/items")
    doubled = deployment.request("GET", "//api//info")

    assert (options.status, options.headers["Allow"], options.body) == (200, "DELETE, GET, HEAD, OPTIONS", b"{}\n")
    # nginx merges the slashes: no redirect, the path's own answer.
    assert (doubled.status, doubled.body) == (200, deployment.request("GET", "/api/info").body)
    assert {options.headers["Content-Type"], doubled.headers["Content-Type"]} == {"application/json"}


def test_a_service_that_does_not_answer_in_time_is_a_504_in_json(start_deployment):
    deployment = start_deployment(
        nginx_changes={"uwsgi_read_timeout 60s;": "uwsgi_read_timeout 1s;"}, FORWARDING_BUSY_TIMEOUT_MS="10000"
    )
    token = deployment.log_in()

    with write_lock(deployment.database):  # the push waits for it, longer than nginx waits for the push
        answer = deployment.request("POST", PUSH, {"list_items": []}, bearer(token))

    assert (answer.status, answer.body) == (504, NGINX_INTERNAL_ERROR)
    assert answer.headers["Content-Type"] == "application/json"
