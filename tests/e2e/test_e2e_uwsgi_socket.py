"""uWSGI's socket: only nginx's group may connect, and a packet cannot make a worker load code."""

import os
import subprocess
import sys

import pytest

from tests.e2e.deployment import environment_file, uwsgi_request

pytestmark = pytest.mark.e2e

CONNECT = "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1]); print('connected')"


def connect_as(user, group, path):
    """Try to connect to the unix socket at `path` as `user` and `group`, with no other groups."""
    return subprocess.run(
        ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups", sys.executable, "-c", CONNECT, str(path)],
        capture_output=True,
        text=True,
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="changing user takes root")
def test_only_nginxs_group_may_connect_to_uwsgi(deployment):
    group = environment_file()["FORWARDING_UWSGI_SOCKET_OWNER"].split(":")[1]

    nginx = connect_as(group, group, deployment.socket)
    other = connect_as("nobody", "nogroup", deployment.socket)

    assert (nginx.returncode, nginx.stdout) == (0, "connected\n"), nginx.stderr
    assert other.returncode == 1 and "PermissionError: [Errno 13] Permission denied" in other.stderr
    assert deployment.request("GET", "/api/info").status == 200  # nginx itself


def test_a_packet_cannot_make_a_worker_load_a_file(deployment, tmp_path):
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.py"
    evil.write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [b'evil']\n"
    )
    packet = {
        "REQUEST_METHOD": "GET",
        "REQUEST_URI": "/evil",
        "PATH_INFO": "/evil",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "SCRIPT_NAME": "/evil",
        "UWSGI_FILE": str(evil),
    }

    answers = [uwsgi_request(deployment.socket, packet) for _ in range(8)]  # every worker, most likely

    assert not marker.exists()
    # Each worker refuses the second app and gives the request to the service, which knows no /evil.
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 404 NOT FOUND\r\n") and answer.endswith(b'\r\n\r\n{"error":"Not found"}\n')
    assert deployment.uwsgi.log().count("ERROR: you cannot load more than 1 apps in a worker") == len(answers)
