"""nginx's limits (deploy/nginx.conf) count an IPv6 client by its /64, an IPv4 one by its address:
fresh addresses of one /64 share one login rate."""

import socket
import ssl

import pytest

from tests.e2e.deployment import free_port, request

pytestmark = pytest.mark.e2e

# nginx's login rate: a burst of ten, then one a second. A login with no password is answered
# at once (400), so a run of them outpaces the rate.
NO_PASSWORD = "/api/v1/login"


@pytest.fixture
def relayed(start_deployment):
    """The deployment behind a trusted proxy on loopback (`real_ip` in nginx, README), so a test
    can be any client: nginx takes the client's address from X-Real-IP."""
    http_level = "map $https $forwarding_hsts {"
    deployment = start_deployment(
        nginx_changes={http_level: f"set_real_ip_from 127.0.0.1; real_ip_header X-Real-IP; {http_level}"}
    )
    return lambda address: deployment.request("GET", NO_PASSWORD, headers={"X-Real-IP": address}).status


def test_addresses_of_one_ipv6_64_share_a_rate(relayed):
    one_network = [relayed(f"2001:db8:1:2:{n:x}::{n:x}") for n in range(1, 21)]
    others = [relayed(address) for address in ("2001:db8:1:3::", "2001:db8:1:1:ffff:ffff:ffff:ffff", "192.0.2.1")]

    assert set(one_network) == {400, 429} and 11 <= one_network.count(400) <= 12, one_network
    assert others == [400, 400, 400]


def test_ipv4_addresses_are_counted_each(relayed):
    statuses = [relayed(f"192.0.2.{n}") for n in range(1, 21)]
    # As a socket listening on both IPv6 and IPv4 reports IPv4 clients: each its own.
    mapped = [relayed(f"::ffff:198.51.100.{n}") for n in range(1, 21)]

    assert statuses == [400] * 20
    assert mapped == [400] * 20


def test_an_ipv4_mapped_address_is_its_ipv4_address(relayed):
    statuses = [relayed(address) for address in ["::ffff:192.0.2.1", "192.0.2.1"] * 10]

    assert set(statuses) == {400, 429} and 11 <= statuses.count(400) <= 12, statuses


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
def test_a_client_over_ipv6_is_limited(start_deployment):
    # nginx also listening on [::1], as `listen [::]:443 ssl` would have it.
    port = free_port()
    deployment = start_deployment(
        nginx_changes={"ssl_session_tickets off;": f"ssl_session_tickets off; listen [::1]:{port} ssl;"}
    )
    context = ssl.create_default_context(cafile=str(deployment.nginx.certificate))
    context.check_hostname = False  # the certificate names 127.0.0.1

    def login():
        with socket.create_connection(("::1", port), 30) as plain, context.wrap_socket(plain) as connection:
            connection.sendall(f"GET {NO_PASSWORD} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
            return int(connection.makefile("rb").readline().split()[1])

    statuses = [login() for _ in range(20)]

    assert set(statuses) == {400, 429} and 11 <= statuses.count(400) <= 12, statuses
    assert request(deployment.nginx.port, "GET", NO_PASSWORD).status == 400  # 127.0.0.1: a client of its own
