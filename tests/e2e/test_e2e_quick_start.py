"""The quick start: uWSGI serving HTTP itself (`uwsgi --ini wsgi.ini`), as on a developer's machine."""

import socket
import struct

import pytest
from deployment import LOGIN, Uwsgi, free_port, wait_until, write_lock
from helpers import MD5_123456

pytestmark = pytest.mark.e2e


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


def send_head(port, head):
    """A connection that has sent `head` and nothing more."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=60)
    connection.sendall(head.encode())
    return connection


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
