"""The batched Link push (`Repository.apply_link_items`, `link_push.outcomes`, `schemas.ItemList`):
the same answers and the same stored rules as applying the items one at a time."""

import json
import random

import pytest

from forwarding.repository import Repository

from helpers import stored_rules

PUSH = "/api/v1/forward/items/link"


def apply_one_by_one(db, items):
    """The plain reading of the contract, as the oracle: each item's own statements, in order."""
    outcomes = []
    db.execute("BEGIN")
    for link_id, number, entities in items:
        existed = db.execute("SELECT 1 FROM rules WHERE forward_number = ?", (number,)).fetchone()
        if entities:
            db.execute(
                "INSERT OR REPLACE INTO rules (forward_number, link_id, entities) VALUES (?, ?, ?)",
                (number, link_id, json.dumps(entities)),
            )
            outcomes.append("updated" if existed else "created")
        elif existed:
            db.execute("DELETE FROM rules WHERE forward_number = ?", (number,))
            outcomes.append("deleted")
        else:
            outcomes.append("entity_not_found")
    db.execute("COMMIT")
    return outcomes


def new_repo():
    repo = Repository.connect(":memory:")
    repo.initialize(make_account=lambda: ("admin", "unused"), make_serial=lambda: "TEST")
    return repo


def rules_of(repo):
    return repo.db.execute("SELECT forward_number, link_id, entities FROM rules ORDER BY forward_number").fetchall()


def push(client, auth, *items):
    body = {"list_items": [{"link_id": l, "forward_number": n, "forward_entity_list": e} for l, n, e in items]}
    response = client.post(PUSH, json=body, headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [(r["link_id"], r["success"], r["extended_info"]) for r in response.get_json()["result"]]


@pytest.mark.parametrize("seed", range(200))
def test_random_pushes_match_applying_items_one_by_one(seed):
    # Few numbers and link_ids, so that items meet each other and the stored rules often.
    rng = random.Random(seed)
    numbers, link_ids = rng.sample(range(1, 5), 4), rng.sample(range(1, 5), 4)
    stored = [(n, link_id if rng.random() < 0.8 else None, json.dumps([str(n)]))
              for n, link_id in zip(numbers, link_ids) if rng.random() < 0.6]
    items = [(rng.randint(1, 4), rng.randint(1, 4), [] if rng.random() < 0.3 else [str(rng.randint(1, 99)), "vizit:1"])
             for _ in range(rng.randint(0, 12))]
    batched, oracle = new_repo(), new_repo()
    for repo in (batched, oracle):
        repo.db.executemany("INSERT INTO rules (forward_number, link_id, entities) VALUES (?, ?, ?)", stored)

    assert batched.apply_link_items(items) == apply_one_by_one(oracle.db, items)
    assert rules_of(batched) == rules_of(oracle)


def test_a_later_item_sees_an_earlier_one(client, auth, repo):
    assert push(client, auth, (1, 101, ["101"]), (1, 101, ["102"]), (2, 102, []), (2, 102, ["sip:192.168.1.2"]),
                (2, 102, [])) == [
        (1, True, "created"), (1, True, "updated"), (2, False, "entity_not_found"), (2, True, "created"),
        (2, True, "deleted"),
    ]
    assert stored_rules(repo) == {101: (1, ["102"])}


def test_a_moved_link_id_removes_its_old_rule_for_the_items_after_it(client, auth, repo):
    push(client, auth, (10, 1, ["101"]), (20, 2, ["102"]))

    # link_id 10 moves from rule 1 to rule 3; rule 1 is gone for the next items; rule 2 takes link_id 30.
    assert push(client, auth, (10, 3, ["103"]), (11, 1, []), (30, 2, ["202"]), (40, 1, ["vizit:1"])) == [
        (10, True, "created"), (11, False, "entity_not_found"), (30, True, "updated"), (40, True, "created"),
    ]
    assert stored_rules(repo) == {1: (40, ["vizit:1"]), 2: (30, ["202"]), 3: (10, ["103"])}


def test_a_link_id_moved_onto_an_existing_rule_removes_both_old_holders(client, auth, repo):
    push(client, auth, (10, 1, ["101"]), (20, 2, ["102"]))

    assert push(client, auth, (20, 1, ["201"]), (50, 2, [])) == [(20, True, "updated"), (50, False, "entity_not_found")]
    assert stored_rules(repo) == {1: (20, ["201"])}


def test_a_link_id_given_up_by_a_deleted_rule_takes_nothing_else_with_it(client, auth, repo):
    push(client, auth, (10, 1, ["101"]))

    # Rule 1 is deleted and made again under link_id 20; link_id 10 then goes to rule 2 and leaves rule 1 be.
    assert push(client, auth, (10, 1, []), (20, 1, ["1"]), (10, 2, ["2"]), (30, 1, ["laskomex:1"])) == [
        (10, True, "deleted"), (20, True, "created"), (10, True, "created"), (30, True, "updated"),
    ]
    assert stored_rules(repo) == {1: (30, ["laskomex:1"]), 2: (10, ["2"])}


def test_a_failed_push_changes_nothing(client, auth, repo):
    push(client, auth, (10, 1, ["101"]))
    body = {"list_items": [{"link_id": 11, "forward_number": 2, "forward_entity_list": ["102"]},
                           {"link_id": 10, "forward_number": 3, "forward_entity_list": ["bad entry"]}]}

    response = client.post(PUSH, json=body, headers=auth)

    assert response.status_code == 400
    assert response.get_json() == {"error": "Wrong JSON body: value `forward_entity_list` was of the wrong type"}
    assert stored_rules(repo) == {1: (10, ["101"])}


@pytest.mark.parametrize("item, message", [
    ({"link_id": "1", "forward_entity_list": ["1"]}, "Wrong JSON body: value `link_id` was of the wrong type"),
    ({"forward_number": True, "forward_entity_list": 5}, "Wrong JSON body: no value for `link_id`"),
    ({"link_id": 1, "forward_number": 0}, "Wrong JSON body: value `forward_number` was of the wrong type"),
    ({"link_id": 1, "forward_number": 1, "forward_entity_list": None},
     "Wrong JSON body: value `forward_entity_list` was of the wrong type"),
    ({"link_id": 1, "forward_number": 1}, "Wrong JSON body: no value for `forward_entity_list`"),
])
def test_within_an_item_the_first_field_in_order_decides_the_error(client, auth, item, message):
    good = {"link_id": 9, "forward_number": 9, "forward_entity_list": ["9"]}
    later_bad = {"link_id": None}

    response = client.post(PUSH, json={"list_items": [good, item, later_bad]}, headers=auth)

    assert (response.status_code, response.get_json()) == (400, {"error": message})


def test_a_non_object_item_makes_the_list_wrong(client, auth):
    response = client.post(PUSH, json={"list_items": [{"link_id": 1}, 5]}, headers=auth)

    assert response.get_json() == {"error": "Wrong JSON body: no value for `forward_number`"}
    response = client.post(PUSH, json={"list_items": [5, {"link_id": 1}]}, headers=auth)
    assert response.get_json() == {"error": "Wrong JSON body: value `list_items` was of the wrong type"}


def test_the_configured_entry_limit_holds_for_every_item(app, client, auth, repo):
    app.config["MAX_ENTITIES"] = 2
    two, three = ["1", "2"], ["1", "2", "3"]
    body = {"list_items": [{"link_id": 1, "forward_number": 1, "forward_entity_list": two},
                           {"link_id": 2, "forward_number": 2, "forward_entity_list": three}]}

    response = client.post(PUSH, json=body, headers=auth)

    assert response.get_json() == {"error": "Wrong JSON body: value `forward_entity_list` was of the wrong type"}
    assert stored_rules(repo) == {}


@pytest.mark.parametrize("entities", [
    ["101", "sip:100@sip.bas-ip.com"], [""], ["a\"b"], ["back\\slash"], ['a", "b'], ["tab\there"], ["\x7f"],
    ["é", "\u2028"], ["a,b", "c"],
])
def test_entries_are_stored_as_json_dumps_writes_them(entities):
    repo = new_repo()
    repo.apply_link_items([(1, 1, entities)])
    repo.put_rule(2, entities)

    texts = [text for _, _, text in rules_of(repo)]
    assert texts == [json.dumps(entities)] * 2
