"""GET /api/v1/forward/items and GET /api/v1/forward/items/link: the two lists."""

import json
import math

import pytest

from forwarding.storage import rules as storage_rules
from tests.helpers import INT64_MAX, ITEMS, LINK_ITEMS, answer, expected, listed, stored_rules, wrong_type


def entries(number):
    return [str(number), f"sip:{number}@sip.bas-ip.com"]


def link_id_of(number):
    # Unlike the forward number, so that a filter by one cannot find the other by mistake.
    return INT64_MAX + 1 - number


def seed(repo, numbers, linked=()):
    """Rules for `numbers`; those in `linked` come from Link, with link_id_of(number)."""
    repo.rules.apply_link_items([(link_id_of(number), number, entries(number)) for number in linked])
    for number in numbers:
        if number not in linked:
            repo.rules.put_rule(number, entries(number))
    return stored_rules(repo)


def item(number):
    return {"forward_number": number, "forward_entity_list": entries(number)}


def linked_item(number):
    return {"link_id": link_id_of(number), **item(number)}


# -- both lists ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [ITEMS, LINK_ITEMS])
def test_an_empty_list_has_one_empty_page(client, auth, path):
    assert answer(client.get(path, headers=auth)) == expected(200, listed([], 0))


def test_the_example_of_the_docs(client, auth, repo):
    repo.rules.put_rule(101, ["sip:100@sip.bas-ip.com", "vizit:123"])
    body = {
        "list_items": [{"forward_number": 101, "forward_entity_list": ["sip:100@sip.bas-ip.com", "vizit:123"]}],
        "list_option": {
            "pagination": {"total_items": 1, "items_limit": 10, "total_pages": 1, "current_page": 1},
            "sort": {"field": "forward_number", "asc": True, "available_fields": ["forward_number"]},
        },
    }
    assert answer(client.get(ITEMS, headers=auth)) == expected(200, body)


EVERY_KIND = ["101", "laskomex:10", "vizit:10", "sip:100@sip.bas-ip.com", "sip:192.168.1.2:5060"]


@pytest.mark.parametrize(
    "path, make_item", [(ITEMS, lambda rule: rule), (LINK_ITEMS, lambda rule: {"link_id": 7, **rule})]
)
def test_a_page_is_compact_json_on_one_line_as_every_answer(client, auth, repo, path, make_item):
    # SQLite writes the page's rules (storage/rules.py); the bytes are those Flask writes elsewhere.
    repo.rules.apply_link_items([(7, INT64_MAX, EVERY_KIND)])
    response = client.get(path, headers=auth)
    page = listed([make_item({"forward_number": INT64_MAX, "forward_entity_list": EVERY_KIND})], 1)
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert response.get_data() == json.dumps(page, separators=(",", ":")).encode() + b"\n"


NUMBERS = [3, 101, 102, 205, 223, 1000, 1001, 99999, INT64_MAX, 1, 50, 51, 52]
LINKED_NUMBERS = [3, 102, 223, 1001, INT64_MAX, 50]


def test_the_default_page_is_the_first_ten_in_ascending_order(client, auth, repo):
    seed(repo, NUMBERS, LINKED_NUMBERS)
    page = [item(number) for number in sorted(NUMBERS)[:10]]
    assert answer(client.get(ITEMS, headers=auth)) == expected(200, listed(page, len(NUMBERS)))


def test_the_link_list_has_only_linked_rules_with_link_id_first(client, auth, repo):
    seed(repo, NUMBERS, LINKED_NUMBERS)
    page = [linked_item(number) for number in sorted(LINKED_NUMBERS)]
    assert answer(client.get(LINK_ITEMS, headers=auth)) == expected(200, listed(page, len(LINKED_NUMBERS)))


@pytest.mark.parametrize(
    "path, make_item, numbers", [(ITEMS, item, NUMBERS), (LINK_ITEMS, linked_item, LINKED_NUMBERS)]
)
@pytest.mark.parametrize("limit", [1, 4, 5, 6, 13, 1000])
@pytest.mark.parametrize("sort_type", ["asc", "desc"])
def test_pages_hold_every_rule_once_in_order(client, auth, repo, path, make_item, numbers, limit, sort_type):
    before = seed(repo, NUMBERS, LINKED_NUMBERS)
    in_order = sorted(numbers, reverse=sort_type == "desc")
    pages = max(1, math.ceil(len(numbers) / limit))
    for page in range(1, pages + 2):  # and the empty page after the last
        query = {"limit": limit, "page_number": page, "sort_field": "forward_number", "sort_type": sort_type}
        items = [make_item(number) for number in in_order[(page - 1) * limit : page * limit]]
        body = listed(items, len(numbers), limit, page, asc=sort_type == "asc")
        assert answer(client.get(path, query_string=query, headers=auth)) == expected(200, body)
    assert stored_rules(repo) == before


@pytest.mark.parametrize("path", [ITEMS, LINK_ITEMS])
@pytest.mark.parametrize("total, limit, pages", [(1, 10, 1), (10, 10, 1), (11, 10, 2), (25, 10, 3), (25, 1, 25)])
def test_total_pages_is_the_ceiling(client, auth, repo, path, total, limit, pages):
    numbers = range(1, total + 1)
    seed(repo, numbers, numbers)
    pagination = client.get(path, query_string={"limit": limit}, headers=auth).get_json()["list_option"]["pagination"]
    assert pagination == {"total_items": total, "items_limit": limit, "total_pages": pages, "current_page": 1}


@pytest.mark.parametrize("path", [ITEMS, LINK_ITEMS])
@pytest.mark.parametrize("page", [2, 3, 1000, INT64_MAX])
def test_a_page_past_the_end_is_empty(client, auth, repo, path, page):
    seed(repo, [1, 2, 3], [1, 2, 3])
    query = {"limit": 3, "page_number": page}
    assert answer(client.get(path, query_string=query, headers=auth)) == expected(200, listed([], 3, 3, page))


@pytest.mark.parametrize("path", [ITEMS, LINK_ITEMS])
def test_unknown_parameters_are_ignored(client, auth, repo, path):
    seed(repo, [7], [7])
    response = client.get(path, query_string={"limit": 1, "filter": "x", "sort": "desc"}, headers=auth)
    make_item = linked_item if path == LINK_ITEMS else item
    assert answer(response) == expected(200, listed([make_item(7)], 1, 1))


BAD_VALUES = [
    "",
    "abc",
    "0",
    "1001",
    "1.5",
    "-1",
    "+1",
    " 1",
    "1 ",
    "0x10",
    "1e2",
    "\u0661",
    str(INT64_MAX + 1),
    "true",
]
PARAMETERS = {
    "limit": BAD_VALUES,
    # 1001 is a page number like any other.
    "page_number": [value for value in BAD_VALUES if value != "1001"],
    "sort_field": BAD_VALUES + ["link_id", "forward_entity_list", "Forward_number", "forward_number "],
    "sort_type": BAD_VALUES + ["ASC", "Desc", "ascending", "asc "],
}


@pytest.mark.parametrize("path", [ITEMS, LINK_ITEMS])
@pytest.mark.parametrize("name, value", [(name, value) for name, values in PARAMETERS.items() for value in values])
def test_a_bad_parameter_is_named(client, auth, repo, path, name, value):
    seed(repo, [1], [1])
    response = client.get(path, query_string={"limit": 5, name: value}, headers=auth)
    assert answer(response) == expected(400, {"error": wrong_type(name)})


@pytest.mark.parametrize("path", [ITEMS, LINK_ITEMS])
def test_authentication_comes_before_the_parameters(client, path):
    response = client.get(path, query_string={"limit": "abc"})
    assert answer(response) == expected(401, {"error": "Log In"})


# -- the link_id filter ----------------------------------------------------------------------


@pytest.mark.parametrize("sort_type", ["asc", "desc"])
def test_the_link_id_filter_finds_its_rule(client, auth, repo, sort_type):
    seed(repo, NUMBERS, LINKED_NUMBERS)
    query = {"link_id": link_id_of(223), "sort_type": sort_type}
    body = listed([linked_item(223)], 1, asc=sort_type == "asc")
    assert answer(client.get(LINK_ITEMS, query_string=query, headers=auth)) == expected(200, body)


def test_the_link_id_filter_past_its_page(client, auth, repo):
    seed(repo, NUMBERS, LINKED_NUMBERS)
    query = {"link_id": link_id_of(223), "page_number": 2, "limit": 1}
    assert answer(client.get(LINK_ITEMS, query_string=query, headers=auth)) == expected(200, listed([], 1, 1, 2))


# 223 is a linked rule's forward number, not its link_id; 101 is not linked; 9999 is nothing.
@pytest.mark.parametrize("link_id", [223, link_id_of(101), link_id_of(9999), 9999])
def test_the_link_id_filter_finds_nothing(client, auth, repo, link_id):
    seed(repo, NUMBERS, LINKED_NUMBERS)
    response = client.get(LINK_ITEMS, query_string={"link_id": link_id}, headers=auth)
    assert answer(response) == expected(200, listed([], 0))


@pytest.mark.parametrize("value", ["", "abc", "0", "-1", "1.5", "+5", "\u0661", str(INT64_MAX + 1), "null"])
def test_a_bad_link_id_filter_is_named(client, auth, repo, value):
    seed(repo, NUMBERS, LINKED_NUMBERS)
    response = client.get(LINK_ITEMS, query_string={"link_id": value}, headers=auth)
    assert answer(response) == expected(400, {"error": wrong_type("link_id")})


def test_the_all_list_ignores_a_link_id_parameter(client, auth, repo):
    seed(repo, [1, 2], [2])
    response = client.get(ITEMS, query_string={"link_id": "abc"}, headers=auth)
    assert answer(response) == expected(200, listed([item(1), item(2)], 2))


# -- what a page costs -----------------------------------------------------------------------


def plan(repo, sql):
    db = repo.database.connection
    return [step for _, _, _, step in db.execute("EXPLAIN QUERY PLAN " + sql, {"offset": 0, "limit": 1})]


COUNTS = {"count all": storage_rules.COUNT_ALL, "count linked": storage_rules.COUNT_LINKED}
PAGES = {
    "page all asc": (False, storage_rules.PAGE),
    "page all desc": (False, storage_rules.PAGE_DESCENDING),
    "page linked asc": (True, storage_rules.LINKED_PAGE),
    "page linked desc": (True, storage_rules.LINKED_PAGE_DESCENDING),
}


@pytest.mark.parametrize("sql", [*COUNTS.values(), *(sql for _, sql in PAGES.values())], ids=[*COUNTS, *PAGES])
def test_no_list_statement_reads_the_table_whole(app, repo, sql):
    """A deep page is found by skipping through a slim index, not by stepping over the table's rows
    (bench/list_scale.py measures what that buys)."""
    steps = plan(repo, sql)
    for step in steps:
        assert step.startswith(("SEARCH", "SCALAR SUBQUERY")) or "COVERING INDEX" in step, steps


@pytest.mark.parametrize("linked, sql", PAGES.values(), ids=PAGES)
def test_the_link_list_pages_through_its_index(app, repo, linked, sql):
    steps = plan(repo, sql)
    assert steps[-1] == "SCAN rules USING COVERING INDEX rules_by_number"
    if linked:
        assert steps[0].startswith("SEARCH rules USING INDEX rules_by_number"), steps
