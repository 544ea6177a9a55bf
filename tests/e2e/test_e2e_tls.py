"""nginx's HTTPS server (deploy/nginx.conf): TLS 1.2 and 1.3 only, and plain HTTP on its port
answered in the panel's JSON."""

import ssl

import pytest

from tests.e2e.deployment import request

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_the_service_answers_over_tls(deployment, version):
    response = deployment.tls_request("GET", "/api/v1/forward/items", versions=(version, version))

    assert (response.status, response.body) == (401, b'{"error":"Log In"}\n')


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_older_tls_is_refused(deployment, version):
    # The client offers the old version; nginx answers with TLS's alert.
    with pytest.raises(ssl.SSLError, match="TLSV1_ALERT_PROTOCOL_VERSION"):
        deployment.tls_request("GET", "/api/info", versions=(version, version))


def test_plain_http_on_the_tls_port_is_a_bad_request_in_json(deployment):
    response = request(deployment.nginx.tls_port, "GET", "/api/info")

    assert (response.status, response.body) == (400, b'{"error": "Bad request"}\n')
    assert response.headers["Content-Type"] == "application/json"
