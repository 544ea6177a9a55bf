"""The quick start: uWSGI serving HTTP itself (`uwsgi --ini wsgi.ini`), as on a developer's machine."""

import http.client
import json
import socket
import struct

import pytest

from tests.e2e.deployment import LOGIN, PUSH, Uwsgi, free_port, link_items, request, stored, wait_until, write_lock
from tests.helpers import MD5_123456, bearer

pytestmark = pytest.mark.e2e

LIMIT = 16 * 1024 * 1024  # FORWARDING_MAX_CONTENT_LENGTH's default


@pytest.fixture
def quick_start(programs, tmp_path):
    port = free_port()
    uwsgi = Uwsgi(
        programs[1],
        tmp_path,
        {"FORWARDING_HTTP_SOCKET": f"127.0.0.1:{port}", "FORWARDING_DATABASE": str(tmp_path / "forwarding.db")},
    )
    uwsgi.port = port
    uwsgi.start()
    yield uwsgi
    uwsgi.stop()


def log_in(uwsgi):
    return request(uwsgi.port, "GET", LOGIN).json()["token"]


def send_head(port, head):
    """A connection that has sent `head` and nothing more."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=60)
    connection.sendall(head.encode())
    return connection


def test_a_body_over_the_limit_is_refused_before_it_is_read(quick_start):
    head = f"POST {PUSH} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {LIMIT + 1}\r\n\r\n"

    with send_head(quick_start.port, head) as connection:
        answer = connection.recv(65536)  # the body is never sent: uWSGI waits for none of it

    assert answer == b""
    assert "Invalid (too big) CONTENT_LENGTH. skip." in quick_start.log()
    assert f"POST {PUSH}" not in quick_start.log()  # the service never saw it
    at_limit = request(quick_start.port, "POST", PUSH, b'{"list_items": []}'.ljust(LIMIT), bearer(log_in(quick_start)))
    assert (at_limit.status, at_limit.body) == (200, b'{"result":[]}\n')


def test_a_silent_client_is_dropped(quick_start):
    with send_head(quick_start.port, "GET /api/info HTTP/1.1\r\nHost: localhost\r\n") as connection:
        assert connection.recv(65536) == b""  # after socket-timeout, well before the client's 60 s
    assert request(quick_start.port, "GET", "/api/info").status == 200


def chunks(body, size=1000):
    return (body[start : start + size] for start in range(0, len(body), size))


def push_chunked(port, token, body):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", PUSH, body=chunks(body), headers=bearer(token), encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_a_chunked_body_is_read(quick_start, tmp_path):
    token = log_in(quick_start)
    body = json.dumps({"list_items": link_items(range(1, 101), lambda number: [str(number)])}).encode()

    status, answer = push_chunked(quick_start.port, token, body)

    assert (status, answer) == (
        200,
        b'{"result":['
        + b",".join(b'{"link_id":%d,"success":true,"extended_info":"created"}' % n for n in range(1, 101))
        + b"]}\n",
    )
    over = push_chunked(quick_start.port, token, b'{"list_items": []}'.ljust(LIMIT + 1))
    assert over == (413, b'{"error":"Request body too large"}\n')
    assert stored(tmp_path / "forwarding.db") == ({n: (n, [str(n)]) for n in range(1, 101)}, [("ok",)])


def test_a_client_gone_before_the_logins_answer_leaves_no_password_in_the_log(quick_start, tmp_path):
    served = sum(quick_start.requests_by_worker().values())
    with write_lock(tmp_path / "forwarding.db"):  # the login waits for it
        connection = send_head(quick_start.port, f"GET {LOGIN} HTTP/1.1\r\nHost: localhost\r\n\r\n")
        wait_until(quick_start.busy_worker, 30, "no worker took the login")
        # Gone at once (a reset), before the answer.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
    quick_start.requests_by_worker(total=served + 1)  # the worker has written its answer, or failed to

    assert "GET /api/v1/login 200" in quick_start.log()
    assert "OSError: write error" in quick_start.log()  # uWSGI's exception in the app, no request named
    assert MD5_123456 not in quick_start.log()
