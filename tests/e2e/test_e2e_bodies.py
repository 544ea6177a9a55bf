"""Large request bodies through nginx: the body limit of both layers, and unread bodies."""

import http.client
import json

import pytest

from tests.e2e.deployment import NGINX_TOO_LARGE, PUSH, http_uwsgi, link_items, request, sip_entities
from tests.helpers import bearer

pytestmark = pytest.mark.e2e

LIMIT = 16 * 1024 * 1024  # the service's default body limit, and nginx's client_max_body_size


def padded(text, size):
    """`text` (a JSON object) padded with whitespace to exactly `size` bytes."""
    return text.encode() + b" " * (size - len(text))


def test_a_push_of_20000_rules_passes_nginx(deployment):
    items = link_items(range(1, 20001), sip_entities)

    response = deployment.request("POST", PUSH, {"list_items": items}, bearer(deployment.log_in()))

    assert response.status == 200
    assert response.json()["result"] == [
        {"link_id": number, "success": True, "extended_info": "created"} for number in range(1, 20001)
    ]
    assert deployment.stored() == ({number: (number, sip_entities(number)) for number in range(1, 20001)}, [("ok",)])


def test_nginx_and_the_service_agree_on_the_body_limit(deployment):
    token = deployment.log_in()

    at_limit = deployment.request("POST", PUSH, padded('{"list_items": []}', LIMIT), bearer(token))
    over_limit = deployment.request("POST", PUSH, padded('{"list_items": []}', LIMIT + 1), bearer(token))

    assert (at_limit.status, at_limit.body) == (200, b'{"result":[]}\n')
    assert (over_limit.status, over_limit.body) == (413, NGINX_TOO_LARGE)
    assert over_limit.headers["Content-Type"] == "application/json"


def test_the_services_own_413_passes_nginx_unchanged(start_deployment):
    deployment = start_deployment(FORWARDING_MAX_CONTENT_LENGTH=str(1024 * 1024))

    response = deployment.request(
        "POST", PUSH, padded('{"list_items": []}', 1024 * 1024 + 1), bearer(deployment.log_in())
    )

    assert (response.status, response.body) == (413, b'{"error":"Request body too large"}\n')
    assert response.headers["Content-Type"] == "application/json"


def test_a_large_unauthenticated_post_is_answered_and_the_connection_kept(deployment):
    token = deployment.log_in()
    connection = http.client.HTTPConnection("127.0.0.1", deployment.nginx.port, timeout=60)
    try:
        for _ in range(3):  # the service answers without reading the body: uWSGI must read it
            connection.request("POST", PUSH, body=padded('{"list_items": []}', 8 * 1024 * 1024))
            response = connection.getresponse()
            assert (response.status, response.read()) == (401, b'{"error":"Log In"}\n')
        connection.request("GET", "/api/v1/forward/items", headers=bearer(token))
        assert connection.getresponse().status == 200
    finally:
        connection.close()
    assert "upstream" not in deployment.nginx.error_log()


def test_the_plain_http_socket_reads_unread_bodies_too(programs, tmp_path):
    """The quick start's and the benchmarks' shape: uWSGI alone, speaking HTTP."""
    uwsgi, port = http_uwsgi(programs[1], tmp_path)
    uwsgi.start()
    try:
        for _ in range(3):
            response = request(port, "POST", PUSH, padded('{"list_items": []}', 8 * 1024 * 1024))
            assert (response.status, response.body) == (401, b'{"error":"Log In"}\n')
    finally:
        uwsgi.stop()


def test_a_chunked_body_passes_nginx(deployment):
    token = deployment.log_in()
    body = json.dumps({"list_items": link_items(range(1, 101), sip_entities)}).encode()
    chunks = (body[start : start + 1000] for start in range(0, len(body), 1000))
    connection = http.client.HTTPConnection("127.0.0.1", deployment.nginx.port, timeout=60)
    try:
        connection.request("POST", PUSH, body=chunks, headers=bearer(token), encode_chunked=True)
        response = connection.getresponse()
        status, answer = response.status, response.read()
    finally:
        connection.close()

    assert status == 200
    assert json.loads(answer)["result"] == [
        {"link_id": number, "success": True, "extended_info": "created"} for number in range(1, 101)
    ]
    assert deployment.stored() == ({number: (number, sip_entities(number)) for number in range(1, 101)}, [("ok",)])
