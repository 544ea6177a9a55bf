"""The five forward-number patterns (docs/api.md): whole-string, ASCII-only, the vendor's own."""

import re

import pytest

from forwarding.limits import PATTERNS, is_forward_entity
from tests.helpers import assert_error, assert_json, item, push, result, stored_rules, wrong_type

ACCEPTED = [
    # digits only
    "101",
    "0",
    "007",
    "9" * 40,
    # hybrid adapters
    "laskomex:10",
    "laskomex:0",
    "vizit:10",
    "vizit:0042",
    # full SIP URI
    "sip:100@sip.bas-ip.com",
    "sip:name@192.168.1.2",
    "sip:@sip.bas-ip.com",
    "sip:a+b-c_d@host.example",
    "sip:100@1host.example",
    "sip:100@a.b",
    "sip:100@host_1.ex-ample",
    "sip:100@192.168.1.2:5060",
    # SIP URI with an IP address only, including what the vendor's pattern lets through
    "sip:192.168.1.2",
    "sip:0.0.0.0",
    "sip:255.255.255.255",
    "sip:192.168.001.002",
    "sip:192.168.1.2:5060",
    "sip:1.2.3.4:99999",
    "sip:1:80.2.3.4",
]

REJECTED = [
    "",
    # digits: ASCII only, over the whole string
    "١٠١",
    "１０１",
    "101\n",
    "\n101",
    " 101",
    "101 ",
    "10 1",
    "-1",
    "+101",
    "1.5",
    "0x1F",
    "abc",
    # hybrid adapters
    "laskomex:",
    "laskomex:abc",
    "LASKOMEX:10",
    "Laskomex:10",
    "laskomex:10\n",
    "laskomex: 10",
    "laskomex:١٠",
    "vizit:",
    "vizit:-1",
    "Vizit:1",
    "vizit:1 ",
    "vizit:10:1",
    "tel:101",
    # full SIP URI
    "SIP:100@sip.bas-ip.com",
    "Sip:100@sip.bas-ip.com",
    "sip:name@host",
    "sip:100@",
    "sip:100@sip.bas-ip.com.",
    "sip:100@sip.bas-ip.com-",
    "sip:100@sip.bas-ip.com\n",
    "sip:100 @sip.bas-ip.com",
    "sip:100@sip .bas-ip.com",
    "sip:user.name@host.com",
    "sip:100@@host.com",
    "sip:100@1.2",
    "sip:100@192.168.1.256",
    "sip:100@256.1.1.1",
    "sip:100@sip.bas-ip.com:5060",
    "sip:100@bas-ip.com ",
    # SIP URI with an IP address only
    "sip:256.1.1.1",
    "sip:1.2.3",
    "sip:1.2.3.4.5",
    "sip:192.168.1.2\n",
    "sip:192.168.1.2.",
    "sip:1.2.3.4:123456",
    "sip:1.2.3.4:",
    "sip:",
    "sip: 192.168.1.2",
    "SIP:192.168.1.2",
    "sip:١.2.3.4",
    "192.168.1.2",
]


@pytest.mark.parametrize("entry", ACCEPTED + REJECTED)
def test_one_pass_agrees_with_the_five_patterns_one_by_one(entry):
    """The patterns are matched as one alternation: the same answer as each alone, ASCII-only."""
    assert len(PATTERNS) == 5
    assert is_forward_entity(entry) == any(re.fullmatch(pattern, entry, re.ASCII) for pattern in PATTERNS)


@pytest.mark.parametrize("entry", ACCEPTED)
def test_accepted(entry):
    assert is_forward_entity(entry) is True


@pytest.mark.parametrize("entry", REJECTED)
def test_rejected(entry):
    assert is_forward_entity(entry) is False


@pytest.mark.parametrize("value", [101, 1.5, None, True, ["101"], {"101": 1}, b"101"])
def test_only_strings_are_entries(value):
    assert is_forward_entity(value) is False


def test_accepted_entries_are_stored_as_sent(client, auth, repo):
    """Eight entries a rule (the default limit), kept in the calling order."""
    chunks = [ACCEPTED[start : start + 8] for start in range(0, len(ACCEPTED), 8)]
    items = [item(index + 1, 100 + index, *chunk) for index, chunk in enumerate(chunks)]
    response = push(client, auth, *items)
    assert_json(response, 200, result(*[(index + 1, "created") for index in range(len(chunks))]))
    assert stored_rules(repo) == {100 + index: (index + 1, chunk) for index, chunk in enumerate(chunks)}


@pytest.mark.parametrize("entry", REJECTED)
def test_rejected_through_the_endpoint(client, auth, repo, entry):
    # A valid entry before the bad one: one bad entry makes the whole list wrong.
    response = push(client, auth, item(1, 101, "101", entry))
    assert_error(response, 400, wrong_type("forward_entity_list"))
    assert stored_rules(repo) == {}
