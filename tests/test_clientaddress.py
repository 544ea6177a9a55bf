"""REMOTE_ADDR is parsed once per request (requestlog.py), before anything reads it; what counts
per client keys on an IPv6 /64."""

import logging

import pytest
from flask import request

from forwarding import clientaddress
from tests.helpers import basic


@pytest.mark.parametrize(
    "sent, parsed",
    [
        ("192.0.2.1", "192.0.2.1"),
        ("::1", "::1"),
        ("2001:DB8:0:0:0:0:0:0001", "2001:db8::1"),  # one address, one spelling
        ("::ffff:192.0.2.1", "192.0.2.1"),  # an IPv4 client of a dual-stack socket
        ("fe80::1%eth0", "invalid-address"),  # a zone is free text
        ("192.0.2.1\n2026-12-03 10:00:00,000 WARNING forged", "invalid-address"),
        ("\x1b]0;owned\x07", "invalid-address"),
        ("192.0.2.01", "invalid-address"),  # leading zeros: octal to some readers
        ("192.0.2.1 ", "invalid-address"),
        ("unix:", "invalid-address"),
        ("", "invalid-address"),
        (None, "invalid-address"),
    ],
)
def test_an_address_is_parsed_or_replaced(sent, parsed):
    assert clientaddress.parse(sent) == parsed


@pytest.mark.parametrize(
    "address, network",
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::", "2001:db8:1:3::/64"),
        ("::1", "::/64"),
        ("invalid-address", "invalid-address"),
    ],
)
def test_the_client_network_of_an_address(address, network):
    assert clientaddress.client_network(address) == network


@pytest.fixture
def seen(app):
    """The address each request's view sees, by a route added for the test."""
    app.add_url_rule("/test/address", "test_address", lambda: {"address": request.remote_addr})
    client = app.test_client()
    return lambda address: client.get("/test/address", environ_base={"REMOTE_ADDR": address}).get_json()["address"]


@pytest.mark.parametrize(
    "sent, parsed",
    [("2001:db8::0001", "2001:db8::1"), ("10.0.0.1\r\nX: y", "invalid-address"), ("", "invalid-address")],
)
def test_the_app_sees_the_parsed_address(seen, sent, parsed):
    assert seen(sent) == parsed


def test_failed_logins_from_a_forged_address_are_logged_and_throttled_as_the_placeholder(make_app, caplog):
    client = make_app(LOGIN_ADDRESS_MAX_FAILURES=2).test_client()
    caplog.set_level(logging.INFO, logger="forwarding")
    statuses = [
        client.get(
            "/api/v1/forward/items",
            headers=basic("admin", "wrong"),
            environ_base={"REMOTE_ADDR": forged},
        ).status_code
        for forged in ["1.2.3.4\n2026-12-03 WARNING forged", "\x1b[2J", "not an address"]
    ]
    # The three share one count: the third is refused unchecked, as the placeholder's third failure.
    assert statuses == [401, 401, 401]
    throttled = [record.getMessage() for record in caplog.records if record.name == "forwarding"]
    assert any(" from invalid-address " in message for message in throttled), throttled
    assert not [message for message in throttled if "\n" in message or "\x1b" in message or "1.2.3.4" in message]
