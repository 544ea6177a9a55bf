"""Memory is bounded on every endpoint: a list of more than 100,000 elements, and a
body whose parse could take more than a request's share of memory, are answered 413 before
any work, and change nothing. (The peaks themselves are measured by bench/memory.py.)"""

import pytest

from forwarding import jsonbody
from tests.helpers import ITEMS, LINK_ITEMS, assert_error, assert_json, item, push, result, stored_rules

MIB = 2**20
TOO_LARGE = "Request body too large"
MAX_LIST_ELEMENTS = 100_000  # elements of a request's list (docs/api.md), written out


@pytest.fixture
def seeded(client, auth, repo):
    """Rules 1 .. 3 (link_id 1 .. 3) through the API; what is stored then."""
    assert push(client, auth, *(item(n, n, str(n)) for n in (1, 2, 3))).status_code == 200
    return stored_rules(repo)


@pytest.fixture
def parses(monkeypatch):
    """Each body the service parsed as JSON."""
    texts = []
    parse = jsonbody._parse

    def counted(text, **hooks):
        texts.append(len(text))
        return parse(text, **hooks)

    monkeypatch.setattr(jsonbody, "_parse", counted)
    return texts


@pytest.mark.parametrize(
    "method, path, name, element",
    [
        ("POST", LINK_ITEMS, "list_items", item(1, 1)),  # an empty list deletes rule 1: were it read
        ("DELETE", ITEMS, "uid_items", 1),
        ("DELETE", LINK_ITEMS, "link_ids", 1),
    ],
)
def test_a_list_over_the_limit_is_refused_before_any_work(client, auth, repo, seeded, method, path, name, element):
    # A first element that is wrong would be a 400: the size is refused before anything is checked.
    for first in (element, "wrong"):
        body = {name: [first] + [element] * MAX_LIST_ELEMENTS}
        assert_error(client.open(path, method=method, json=body, headers=auth), 413, TOO_LARGE)
        assert stored_rules(repo) == seeded


def test_a_list_at_the_limit_is_taken(client, auth, repo, seeded):
    ids = list(range(1, MAX_LIST_ELEMENTS + 1))
    response = client.delete(ITEMS, json={"uid_items": ids}, headers=auth)
    assert response.status_code == 200
    outcomes = [entry["extended_info"] for entry in response.get_json()["result"]]
    assert outcomes == ["deleted"] * 3 + ["entity_not_found"] * (MAX_LIST_ELEMENTS - 3)
    assert stored_rules(repo) == {}


def test_a_long_list_under_a_key_of_another_endpoint_is_ignored(client, auth, repo, seeded):
    body = {"list_items": [item(4, 4, "4")], "uid_items": [1] * (MAX_LIST_ELEMENTS + 1)}
    assert_json(client.post(LINK_ITEMS, json=body, headers=auth), 200, result((4, "created")))
    assert stored_rules(repo) == {**seeded, 4: (4, ["4"])}


def filled(head, element, tail, size=16 * MIB):
    """`head`, then `element` repeated (comma-separated) to fill `size` bytes, then `tail`."""
    count = (size - len(head) - len(tail) + 1) // (len(element) + 1)
    return head + b",".join([element] * count) + tail


# Bodies of 16 MiB, the body limit, that took hundreds of MB to parse, or gigabytes to answer.
HOSTILE = {
    "8.4 million ids": ("DELETE", ITEMS, filled(b'{"uid_items":[', b"1", b"]}")),
    "4 million floats, ignored": ("POST", LINK_ITEMS, filled(b'{"list_items":[],"x":[', b"1.5", b"]}")),
    "empty objects, ignored": ("POST", LINK_ITEMS, filled(b'{"list_items":[],"x":[', b"{}", b"]}")),
    "one-key objects in the list": ("POST", LINK_ITEMS, filled(b'{"list_items":[', b'{"":0}', b"]}")),
    "nested lists, ignored": ("POST", LINK_ITEMS, filled(b'{"list_items":[],"x":[', b"[[[[[[[[0]]]]]]]]", b"]}")),
    "short strings as entries": ("POST", "/api/v1/forward/item/1", filled(b'{"forward_entity_list":[', b'"ab"', b"]}")),
    "1 MiB of empty lists": ("DELETE", LINK_ITEMS, filled(b'{"link_ids":[', b"[]", b"]}", size=2 * MIB)),
}


@pytest.mark.parametrize("method, path, body", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_body_that_would_parse_into_too_much_is_refused_unparsed(
    client, auth, repo, seeded, parses, method, path, body
):
    assert len(body) <= 16 * MIB
    assert_error(client.open(path, method=method, data=body, headers=auth), 413, TOO_LARGE)
    assert parses == []
    assert stored_rules(repo) == seeded


def test_the_largest_real_pushes_are_taken(client, auth, repo, parses):
    # Ten thousand apartments, each forwarded to eight SIP addresses with ports: the most colons,
    # commas and brackets a real push has for its size.
    items = [item(n, n, *(f"sip:{n}{k}@10.0.{k}.{n % 100}:5060" for k in range(8))) for n in range(1, 10_001)]
    response = push(client, auth, *items)
    assert_json(response, 200, result(*((n, "created") for n in range(1, 10_001))))
    assert len(stored_rules(repo)) == 10_000
    assert len(parses) == 1
