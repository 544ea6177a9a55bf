"""What a client controls forges no log line: a method with a newline sent to the quick start,
and a REMOTE_ADDR with one sent by whoever may use uWSGI's socket, as nginx's group may."""

import re

import pytest

from tests.e2e.deployment import LOGIN, http_uwsgi, raw_request, uwsgi_request, write_lock
from tests.helpers import basic

pytestmark = pytest.mark.e2e

FORGED_LINE = "2026-12-03 10:00:00,000 WARNING forwarding: forged"
FORGED = f"\n{FORGED_LINE}\x1b]0;owned\x07\x1b[2J"


def lines(log):
    return log.splitlines()


def test_a_method_with_a_newline_is_escaped_in_the_quick_starts_log(programs, tmp_path):
    # uWSGI's parser splits the request line at spaces, and keeps a bare newline in the method.
    method = "GET\n2026-12-03T10:00:00,000:WARNING:forwarding:forged\x1b]0;owned\x07\x1b[2J"
    uwsgi, port = http_uwsgi(programs[1], tmp_path)
    uwsgi.start()
    try:
        answer = raw_request(port, f"{method} /api/info HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    finally:
        uwsgi.stop()

    assert answer.status == 405
    logged = [line for line in lines(uwsgi.log()) if "FORGED" in line]  # Werkzeug upper-cases a method
    assert len(logged) == 1, logged
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO forwarding\.requests: "
        + re.escape(r"GET\n2026-12-03T10:00:00,000:WARNING:FORWARDING:FORGED\x1b]0;OWNED\x07\x1b[2J /api/info 405 ")
        + r"\d+\.\dms request_id=[0-9a-f]{32}",
        logged[0],
    )
    assert "\x1b" not in uwsgi.log()


def packet(remote_addr, path, query="", headers=None):
    return {
        "REQUEST_METHOD": "GET",
        "REQUEST_URI": path,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": remote_addr,
        **(headers or {}),
    }


def test_a_forged_remote_addr_is_logged_and_throttled_as_the_placeholder(start_deployment):
    deployment = start_deployment(FORWARDING_BUSY_TIMEOUT_MS="200", FORWARDING_LOGIN_ADDRESS_MAX_FAILURES="1")
    forged = "10.0.0.1" + FORGED
    login_path, login_query = LOGIN.split("?")
    authorization = {"HTTP_AUTHORIZATION": basic("admin", "wrong")["Authorization"]}

    with write_lock(deployment.database):  # the login cannot store its token: a 500, which uWSGI logs too
        failed_login = uwsgi_request(deployment.socket, packet(forged, login_path, login_query))
    wrong_password = uwsgi_request(deployment.socket, packet(forged, "/api/v1/forward/items", headers=authorization))
    deployment.uwsgi.terminate(timeout=10)

    assert failed_login.startswith(b"HTTP/1.1 500 INTERNAL SERVER ERROR\r\n")
    assert wrong_password.startswith(b"HTTP/1.1 401 UNAUTHORIZED\r\n")
    log = deployment.uwsgi.log()
    assert [line for line in lines(log) if line.startswith(FORGED_LINE)] == []
    assert "\x1b" not in log and "10.0.0.1" not in log
    assert [line for line in lines(log) if re.fullmatch(r"invalid-address GET => 500 in \d+ ms \(pid \d+\)", line)]
    assert "1 failed attempts from invalid-address within 300 s" in log
