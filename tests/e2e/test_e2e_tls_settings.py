"""nginx's HTTPS server (deploy/nginx.conf) with Mozilla's "intermediate" settings: over TLS 1.2
only forward-secret AEAD suites, no session tickets, and HSTS on every HTTPS answer, nginx's own
included, but none over plain HTTP. Checked with `openssl s_client`, as the README tells an operator."""

import http.client
import re
import socket
import ssl
import subprocess

import pytest

from tests.e2e.deployment import raw_request

pytestmark = pytest.mark.e2e

HSTS = "max-age=63072000"
END = b"Host: localhost\r\nConnection: close\r\n\r\n"


@pytest.fixture
def rsa_deployment(start_deployment, tmp_path):
    """The deployment with an RSA certificate beside its ECDSA one: the suites with RSA key
    exchange (`AES256-GCM-SHA384`) or RSA authentication (`ECDHE-RSA-*`) are then possible at all."""
    certificate, key = tmp_path / "rsa-certificate.pem", tmp_path / "rsa-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1"]
        + ["-keyout", str(key), "-out", str(certificate)],
        check=True,
        capture_output=True,
    )
    protocols = "ssl_protocols TLSv1.2 TLSv1.3;"
    return start_deployment(
        nginx_changes={protocols: f"{protocols} ssl_certificate {certificate}; ssl_certificate_key {key};"}
    )


def s_client(port, *options):
    """`(exit status, output)` of `openssl s_client` connecting to 127.0.0.1:`port` and leaving."""
    done = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *options],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.returncode, done.stdout


def negotiated(port, cipher):
    """The suite nginx agrees to when a TLS 1.2 client offers `cipher` alone, or "(NONE)"."""
    # @SECLEVEL=0: the client offers even what its own defaults would refuse.
    status, output = s_client(port, "-tls1_2", "-cipher", f"{cipher}:@SECLEVEL=0")
    suite = re.search(r"Cipher is (\S+)", output).group(1)
    assert (status == 0) == (suite != "(NONE)"), output
    return suite


@pytest.mark.parametrize(
    "cipher",
    [
        "AES256-GCM-SHA384",  # no forward secrecy
        "AES128-SHA",  # no forward secrecy, CBC, SHA-1
        "CAMELLIA128-SHA",
        "ECDHE-RSA-AES128-SHA",  # forward secret, but CBC with SHA-1
        "ECDHE-ECDSA-AES256-SHA384",  # CBC
    ],
)
def test_tls_1_2_refuses_suites_without_forward_secrecy_or_aead(rsa_deployment, cipher):
    assert negotiated(rsa_deployment.nginx.tls_port, cipher) == "(NONE)"


@pytest.mark.parametrize(
    "cipher",
    [
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
    ],
)
def test_tls_1_2_accepts_forward_secret_aead_suites(rsa_deployment, cipher):
    assert negotiated(rsa_deployment.nginx.tls_port, cipher) == cipher


def test_no_session_tickets(deployment):
    status, output = s_client(deployment.nginx.tls_port, "-tls1_2")

    assert status == 0 and "New, TLSv1.2, Cipher is ECDHE-ECDSA-AES256-GCM-SHA384" in output
    assert "TLS session ticket" not in output  # nginx would send one with its "lifetime hint"
    assert re.search(r"Session-ID: [0-9A-F]{64}\n", output)  # the session cache resumes instead


def tls_raw_request(port, certificate, data):
    """Send the bytes `data` over TLS to 127.0.0.1:`port`; the answer."""
    context = ssl.create_default_context(cafile=str(certificate))
    with (
        socket.create_connection(("127.0.0.1", port), 30) as plain,
        context.wrap_socket(plain, server_hostname="127.0.0.1") as connection,
    ):
        connection.sendall(data)
        response = http.client.HTTPResponse(connection, method="GET")
        response.begin()
        return response.status, response.headers, response.read()


# (request, status): the service's answers, then nginx's own.
ANSWERS = [
    (b"GET /api/info HTTP/1.1\r\n" + END, 200),
    (b"GET /api/v1/forward/items HTTP/1.1\r\n" + END, 401),
    (b"GET /api/nothing HTTP/1.1\r\n" + END, 404),
    (b"GET /api/%zz HTTP/1.1\r\n" + END, 400),
    (b"GET /.forwarding-errors/400 HTTP/1.1\r\n" + END, 404),
    (b"TRACE /api/info HTTP/1.1\r\n" + END, 405),
    (b"POST /api/v1/forward/items/link HTTP/1.1\r\nContent-Length: 16777217\r\n" + END, 413),
]
# Logins with no password: the service answers at once, 400, until nginx's rate (1 a second after
# a burst of ten) answers 429 for the rest.
LOGINS = [b"GET /api/v1/login HTTP/1.1\r\n" + END] * 16


def test_hsts_on_every_https_answer(deployment):
    port, certificate = deployment.nginx.tls_port, deployment.nginx.certificate

    answers = [tls_raw_request(port, certificate, request) for request, _ in ANSWERS]
    logins = [tls_raw_request(port, certificate, request) for request in LOGINS]

    assert [status for status, _, _ in answers] == [status for _, status in ANSWERS]
    assert {status for status, _, _ in logins} == {400, 429}
    for _, headers, _ in answers + logins:
        assert headers.get_all("Strict-Transport-Security") == [HSTS]
    retry_after = {headers["Retry-After"] for status, headers, _ in logins if status == 429}
    assert retry_after == {"1"}  # the 429's own add_header is kept beside


def test_no_hsts_over_plain_http(deployment):
    answers = [raw_request(deployment.nginx.port, request) for request, _ in ANSWERS]
    logins = [raw_request(deployment.nginx.port, request) for request in LOGINS]

    assert [answer.status for answer in answers] == [status for _, status in ANSWERS]
    assert {answer.status for answer in logins} == {400, 429}
    assert [answer for answer in answers + logins if "Strict-Transport-Security" in answer.headers] == []
