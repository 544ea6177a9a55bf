"""Conditional GET: the ETag of the four reads, and 304 to an If-None-Match that names it."""

import re

import pytest

from forwarding import conditional
from forwarding.storage import Rules
from tests.helpers import answer, assert_error, expected, item, push

ITEMS = "/api/v1/forward/items"
LINK_ITEMS = "/api/v1/forward/items/link"
RULE = "/api/v1/forward/item/101"
HISTORY = "/api/v1/forward/history"
READS = [ITEMS, LINK_ITEMS, RULE, HISTORY, f"{HISTORY}?after_id=0"]
TAG = re.compile(r'"[0-9a-f]{32}"')


@pytest.fixture
def building(client, basic_auth):
    """Two rules, one with a link_id: every read has something to show."""
    push(client, basic_auth, item(1, 101, "1001"), item(2, 102, "1002"))
    assert (
        client.post("/api/v1/forward/item/103", json={"forward_entity_list": ["1003"]}, headers=basic_auth).status_code
        == 200
    )


def get(client, headers, url, tag=None):
    return client.get(url, headers={**headers, **({} if tag is None else {"If-None-Match": tag})})


def tag_of(client, headers, url):
    response = get(client, headers, url)
    assert response.status_code == 200
    assert TAG.fullmatch(response.headers["ETag"])
    return response.headers["ETag"]


def tags(client, headers, urls=READS):
    return [tag_of(client, headers, url) for url in urls]


@pytest.mark.parametrize("url", READS)
def test_each_read_has_an_etag_and_nothing_else_changes(client, basic_auth, building, url):
    response = get(client, basic_auth, url)
    assert response.status_code == 200
    assert sorted(response.headers.keys()) == ["Content-Length", "Content-Type", "ETag", "X-Request-ID"]
    assert TAG.fullmatch(response.headers["ETag"])
    again = get(client, basic_auth, url)
    assert (again.headers["ETag"], answer(again)) == (response.headers["ETag"], answer(response))


@pytest.mark.parametrize("url", READS)
def test_if_none_match_naming_it_is_304_without_a_body(client, basic_auth, building, url):
    tag = tag_of(client, basic_auth, url)
    for sent in (tag, "*", f"W/{tag}", f'"0123", {tag}'):
        response = get(client, basic_auth, url, sent)
        assert (response.status_code, response.get_data(), response.headers["ETag"]) == (304, b"", tag)
        assert "X-Request-ID" in response.headers
    for sent in ('"0123"', tag.upper(), tag[:-2] + '"'):
        response = get(client, basic_auth, url, sent)
        assert (response.status_code, response.headers["ETag"]) == (200, tag)


def test_a_rule_that_does_not_exist_has_no_etag(client, basic_auth, building):
    for sent in (None, "*"):
        response = get(client, basic_auth, "/api/v1/forward/item/999", sent)
        assert_error(response, 404, "Not found")
        assert "ETag" not in response.headers


@pytest.mark.parametrize("url", READS)
def test_authentication_comes_before_the_304(client, basic_auth, building, url):
    tag = tag_of(client, basic_auth, url)
    for sent in (tag, "*"):
        response = get(client, {}, url, sent)
        assert_error(response, 401, "Log In")
        assert "ETag" not in response.headers


@pytest.mark.parametrize(
    "url, name",
    [
        (f"{ITEMS}?limit=0", "limit"),
        (f"{LINK_ITEMS}?link_id=x", "link_id"),
        ("/api/v1/forward/item/0", "forward-uid"),
        (f"{HISTORY}?page_number=1&after_id=0", "page_number"),
        (f"{HISTORY}?after_id=x", "after_id"),
    ],
)
def test_a_bad_query_comes_before_the_304(client, basic_auth, building, url, name):
    response = get(client, basic_auth, url, "*")
    assert_error(response, 400, f"Wrong JSON body: value `{name}` was of the wrong type")
    assert "ETag" not in response.headers


def test_a_pruned_cursor_comes_before_the_304(client, basic_auth, building):
    response = get(client, basic_auth, f"{HISTORY}?after_id=99", "*")
    assert_error(response, 410, "History pruned past after_id")


def test_a_write_that_changes_a_rule_changes_every_tag(client, basic_auth, building):
    before = tags(client, basic_auth)
    push(client, basic_auth, item(1, 101, "1001", "vizit:1"))
    after = tags(client, basic_auth)
    assert all(old != new for old, new in zip(before, after))
    for url, old in zip(READS, before):
        assert get(client, basic_auth, url, old).status_code == 200


def test_a_write_that_changes_nothing_keeps_every_tag(client, basic_auth, building):
    before = tags(client, basic_auth)
    push(client, basic_auth, item(1, 101, "1001"), item(2, 102, "1002"))  # Link re-pushes the building
    assert (
        client.post("/api/v1/forward/item/103", json={"forward_entity_list": ["1003"]}, headers=basic_auth).status_code
        == 200
    )
    assert client.delete(ITEMS, json={"uid_items": [999]}, headers=basic_auth).status_code == 200
    assert tags(client, basic_auth) == before
    for url, old in zip(READS, before):
        assert get(client, basic_auth, url, old).status_code == 304


def test_without_the_history_a_write_still_changes_the_tag_only_when_it_changes_a_rule(make_app, basic_auth, building):
    client = make_app(HISTORY_LIMIT=0).test_client()
    push(client, basic_auth, item(3, 103, "1003"))  # prunes the records kept before (a change of the history)
    before = tag_of(client, basic_auth, ITEMS)
    push(client, basic_auth, item(1, 101, "1001"))
    assert tag_of(client, basic_auth, ITEMS) == before
    push(client, basic_auth, item(1, 101, "2"))
    assert tag_of(client, basic_auth, ITEMS) != before


def test_different_queries_have_different_tags(client, basic_auth, building):
    urls = [
        ITEMS,
        f"{ITEMS}?limit=1",
        f"{ITEMS}?limit=1&page_number=2",
        f"{ITEMS}?sort_type=desc",
        LINK_ITEMS,
        f"{LINK_ITEMS}?link_id=1",
        RULE,
        "/api/v1/forward/item/102",
        HISTORY,
        f"{HISTORY}?forward_number=101",
        f"{HISTORY}?after_id=0",
        f"{HISTORY}?after_id=1",
    ]
    found = [tag_of(client, basic_auth, url) for url in urls]
    assert len(set(found)) == len(urls)
    # The same answer asked for in other words is the same answer.
    assert tag_of(client, basic_auth, f"{ITEMS}?limit=10&page_number=1&unknown=1") == found[0]


def test_the_history_limit_is_part_of_the_history_tag(make_app, client, basic_auth, building):
    other = make_app(HISTORY_LIMIT=50).test_client()
    for url in (HISTORY, f"{HISTORY}?after_id=0"):
        assert tag_of(other, basic_auth, url) != tag_of(client, basic_auth, url)


def test_the_tags_survive_a_restart(make_app, client, basic_auth, building):
    assert tags(make_app().test_client(), basic_auth) == tags(client, basic_auth)


def test_a_restore_never_repeats_a_tag_for_other_data(client, basic_auth, runner, building, tmp_path):
    backup = tmp_path / "backup.db"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    before = tags(client, basic_auth, READS[:4])
    push(client, basic_auth, item(1, 101, "changed"))
    changed = tags(client, basic_auth, READS[:4])
    assert runner.invoke(args=["restore", str(backup)]).exit_code == 0
    restored = tags(client, basic_auth, READS[:4])
    push(client, basic_auth, item(1, 101, "other"))  # as many writes since the backup, other data
    other = tags(client, basic_auth, READS[:4])
    # (A cursor from 0 is 410 after the restore: its barrier.)
    assert not ({*before, *changed} & {*restored, *other})


# -- the answers each process keeps by their tag ------------------------------------------------


@pytest.mark.parametrize("url", READS)
def test_a_kept_answer_is_the_answer_made(client, basic_auth, building, url, monkeypatch):
    made = get(client, basic_auth, url)
    for read in ("page", "linked_page", "rule", "history", "following"):  # the second answer reads no rule
        monkeypatch.setattr(Rules, read, lambda *args, **kwargs: pytest.fail("the kept answer was made again"))
    kept = get(client, basic_auth, url)
    assert (kept.status_code, kept.get_data()) == (made.status_code, made.get_data())
    assert [h for h in kept.headers if h[0] != "X-Request-ID"] == [h for h in made.headers if h[0] != "X-Request-ID"]


def test_a_write_in_another_worker_is_seen_at_once(make_app, client, basic_auth, building):
    other = make_app().test_client()  # another uWSGI worker on the same database
    before = {url: get(client, basic_auth, url) for url in READS}
    assert [get(client, basic_auth, url).get_data() for url in READS] == [r.get_data() for r in before.values()]
    push(other, basic_auth, item(1, 101, "2001"))
    for url, old in before.items():
        for tag in (None, old.headers["ETag"]):
            response = get(client, basic_auth, url, tag)
            assert response.status_code == 200 and response.headers["ETag"] != old.headers["ETag"]
            assert response.get_data() == get(other, basic_auth, url).get_data() != old.get_data()
    rule = {"link_id": 1, "forward_number": 101, "forward_entity_list": ["2001"]}
    assert answer(get(client, basic_auth, RULE)) == expected(200, rule)


def test_a_restore_in_another_process_is_seen_at_once(make_app, client, basic_auth, runner, building, tmp_path):
    backup = tmp_path / "backup.db"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    push(client, basic_auth, item(1, 101, "2001"))
    assert get(client, basic_auth, RULE).get_json()["forward_entity_list"] == ["2001"]
    assert runner.invoke(args=["restore", str(backup)]).exit_code == 0  # the operator's command, its own connection
    assert get(client, basic_auth, RULE).get_json()["forward_entity_list"] == ["1001"]
    listed = get(client, basic_auth, ITEMS).get_json()["list_items"]
    assert [rule["forward_entity_list"] for rule in listed] == [["1001"], ["1002"], ["1003"]]


def test_the_kept_answers_are_bounded_in_bytes():
    entry = conditional.ENTRY_BYTES  # what each answer costs beside its body
    kept = conditional.Kept(max_bytes=3 * entry + 10)
    kept.keep("a", b"1234")
    kept.keep("b", b"5678")
    kept.keep("c", b"90")
    assert [kept.get(tag) for tag in "abc"] == [b"1234", b"5678", b"90"]
    kept.keep("d", b"xyz")  # the oldest goes
    assert [kept.get(tag) for tag in "abcd"] == [None, b"5678", b"90", b"xyz"]
    too_large = b"x" * (2 * entry + 11)  # with its entry, larger than the bound: not kept, nothing goes
    kept.keep("e", too_large)
    assert [kept.get(tag) for tag in "bcde"] == [b"5678", b"90", b"xyz", None]
