"""What an integration written against a real panel does (an ISP's intercom server, for one):
create rules one apartment at a time, page through them with `limit=100` until a page comes back
empty, delete by apartment number. With a login token, and with HTTP Basic on every call."""

import random

import pytest

from tests.helpers import answer, expected, listed, result, stored_rules

# A building of 25 floors with 10 apartments each: numbers 101 .. 2510, floor then apartment.
APARTMENTS = [floor * 100 + apartment for floor in range(1, 26) for apartment in range(1, 11)]
LIMIT = 100


@pytest.fixture(params=["auth", "basic_auth"], ids=["token", "basic"])
def headers(request):
    return request.getfixturevalue(request.param)


def entries_of(number, floor_phone="laskomex"):
    return [f"sip:{number}@sip.bas-ip.com", str(number), f"{floor_phone}:{number // 100}"]


def test_an_integration_creates_pages_and_deletes(client, headers, repo):
    rules = {}

    # 1. One apartment at a time, in the integration's order, not the list's.
    for number in random.Random(3).sample(APARTMENTS, len(APARTMENTS)):
        response = client.post(
            f"/api/v1/forward/item/{number}", json={"forward_entity_list": entries_of(number)}, headers=headers
        )
        assert answer(response) == expected(200, {}), number
        rules[number] = (None, entries_of(number))
        assert stored_rules(repo) == rules, number

    # A resident changes where calls go: the rule is replaced, nothing else moves.
    response = client.post(
        "/api/v1/forward/item/305", json={"forward_entity_list": entries_of(305, "vizit")}, headers=headers
    )
    assert answer(response) == expected(200, {})
    rules[305] = (None, entries_of(305, "vizit"))
    assert stored_rules(repo) == rules

    # 2. Page with limit=100 until a page comes back empty: 3 pages, the last one short, then none.
    seen = []
    page = 1
    while True:
        response = client.get(
            "/api/v1/forward/items", query_string={"limit": LIMIT, "page_number": page}, headers=headers
        )
        items = [
            {"forward_number": number, "forward_entity_list": rules[number][1]}
            for number in sorted(rules)[(page - 1) * LIMIT : page * LIMIT]
        ]
        assert answer(response) == expected(200, listed(items, len(APARTMENTS), LIMIT, page)), page
        assert stored_rules(repo) == rules
        if not response.get_json()["list_items"]:
            break
        seen.append([item["forward_number"] for item in items])
        page += 1
    assert [len(numbers) for numbers in seen] == [100, 100, 50]
    assert sum(seen, []) == sorted(APARTMENTS)

    # 3. Delete what was seen, a page at a time, by apartment number.
    for numbers in seen:
        response = client.delete("/api/v1/forward/items", json={"uid_items": numbers}, headers=headers)
        assert answer(response) == expected(200, result(*((number, "deleted") for number in numbers), key="uid"))
        for number in numbers:
            del rules[number]
        assert stored_rules(repo) == rules

    # Deleting again finds nothing, and the list is one empty page.
    response = client.delete("/api/v1/forward/items", json={"uid_items": [101, 2510]}, headers=headers)
    assert answer(response) == expected(200, result((101, "entity_not_found"), (2510, "entity_not_found"), key="uid"))
    response = client.get("/api/v1/forward/items", query_string={"limit": LIMIT}, headers=headers)
    assert answer(response) == expected(200, listed([], 0, LIMIT))
    assert stored_rules(repo) == {}
