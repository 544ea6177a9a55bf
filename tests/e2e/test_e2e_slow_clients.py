"""Slow clients through nginx: headers within 10 s, and one address holds at most 32 requests in
progress."""

import socket
import time
from contextlib import ExitStack

import pytest

from tests.e2e.deployment import NGINX_TOO_MANY_REQUESTS, PUSH, wait_until

pytestmark = pytest.mark.e2e

PER_ADDRESS = 32  # limit_conn in deploy/nginx-server.conf


def test_one_address_holds_at_most_32_requests(deployment):
    with ExitStack() as held:
        for _ in range(PER_ADDRESS):  # each sends its headers and then the body, slowly: none of it yet
            connection = held.enter_context(socket.create_connection(("127.0.0.1", deployment.nginx.port), 60))
            connection.sendall(f"POST {PUSH} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n".encode())

        refused = deployment.request("GET", "/api/info")

    assert (refused.status, refused.body) == (429, NGINX_TOO_MANY_REQUESTS)
    assert (refused.headers["Content-Type"], refused.headers["Retry-After"]) == ("application/json", "1")
    # Once nginx has seen the others go, the address is served again.
    wait_until(lambda: deployment.request("GET", "/api/info").status == 200, 10, "the address stayed refused")


def test_a_client_sending_its_headers_slowly_is_cut_off(deployment):
    lines = 0
    with socket.create_connection(("127.0.0.1", deployment.nginx.port), 60) as connection:
        connection.sendall(b"GET /api/info HTTP/1.1\r\nHost: localhost\r\n")
        try:
            while lines < 10:  # a header line every 3 s, for 30 s at most (nginx's default: 60 s)
                time.sleep(3)
                connection.sendall(b"X-Slow: %d\r\n" % lines)
                lines += 1
        except (BrokenPipeError, ConnectionResetError):
            pass  # nginx gave up on the request (client_header_timeout, 10 s)

    assert lines < 10
    assert deployment.request("GET", "/api/info").status == 200
