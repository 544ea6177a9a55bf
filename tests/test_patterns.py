"""The five forward-number patterns (docs/api.md): whole-string, ASCII-only, the vendor's own."""

import re

import pytest

from forwarding.limits import is_forward_entity
from tests.entries import ACCEPTED, PATTERNS, REJECTED
from tests.helpers import assert_error, assert_json, item, push, result, stored_rules, wrong_type


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
