"""POST /api/v1/forward/items/link: what a valid push does to the stored rules."""

from tests.helpers import LINK_ITEMS, assert_json, item, push, result, stored_rules


def test_create(client, auth, repo):
    response = push(client, auth, item(101, 101, "sip:100@sip.bas-ip.com", "vizit:101"))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_data(as_text=True) == '{"result":[{"link_id":101,"success":true,"extended_info":"created"}]}\n'
    assert stored_rules(repo) == {101: (101, ["sip:100@sip.bas-ip.com", "vizit:101"])}


def test_basic_authentication_works_as_well(client, basic_auth, repo):
    assert_json(push(client, basic_auth, item(1, 101, "101")), 200, result((1, "created")))
    assert stored_rules(repo) == {101: (1, ["101"])}


def test_a_replay_answers_updated_and_changes_nothing(client, auth, repo):
    items = [item(1, 101, "101", "vizit:1"), item(2, 102, "102")]
    push(client, auth, *items)
    before = stored_rules(repo)
    assert_json(push(client, auth, *items), 200, result((1, "updated"), (2, "updated")))
    assert stored_rules(repo) == before


def test_an_update_replaces_the_list_and_the_link_id(client, auth, repo):
    push(client, auth, item(1, 101, "101", "102", "103"))
    assert_json(push(client, auth, item(2, 101, "sip:192.168.1.2")), 200, result((2, "updated")))
    assert stored_rules(repo) == {101: (2, ["sip:192.168.1.2"])}


def test_a_rule_without_a_link_id_gets_one(client, auth, repo):
    repo.rules.put_rule(101, ["101"])  # as POST /api/v1/forward/item/101 leaves it
    assert_json(push(client, auth, item(7, 101, "vizit:1")), 200, result((7, "updated")))
    assert stored_rules(repo) == {101: (7, ["vizit:1"])}


def test_the_link_id_moves_to_a_new_number(client, auth, repo):
    """The management system moved the apartment: the rule that held the link_id is removed."""
    push(client, auth, item(5, 101, "101"), item(6, 200, "200"))
    assert_json(push(client, auth, item(5, 102, "102")), 200, result((5, "created")))
    assert stored_rules(repo) == {102: (5, ["102"]), 200: (6, ["200"])}


def test_the_link_id_moves_onto_an_existing_rule(client, auth, repo):
    push(client, auth, item(5, 101, "101"), item(6, 102, "102"))
    assert_json(push(client, auth, item(5, 102, "vizit:102")), 200, result((5, "updated")))
    assert stored_rules(repo) == {102: (5, ["vizit:102"])}


def test_an_empty_list_deletes_then_finds_nothing(client, auth, repo):
    push(client, auth, item(1, 101, "101"), item(2, 102, "102"))
    assert_json(push(client, auth, item(1, 101)), 200, result((1, "deleted")))
    assert stored_rules(repo) == {102: (2, ["102"])}
    response = push(client, auth, item(1, 101))
    assert response.get_data(as_text=True) == (
        '{"result":[{"link_id":1,"success":false,"extended_info":"entity_not_found"}]}\n'
    )
    assert stored_rules(repo) == {102: (2, ["102"])}


def test_an_empty_list_deletes_by_forward_number_whatever_the_link_id(client, auth, repo):
    push(client, auth, item(1, 101, "101"))
    assert_json(push(client, auth, item(9, 101)), 200, result((9, "deleted")))
    assert stored_rules(repo) == {}


def test_later_elements_see_earlier_ones(client, auth, repo):
    response = push(
        client,
        auth,
        item(1, 101, "101"),
        item(1, 101, "vizit:101"),
        item(1, 101),
        item(1, 101),
        item(2, 102, "102"),
        item(2, 103, "103"),  # link_id 2 moves from 102 to 103 within the request
    )
    expected = result(
        (1, "created"), (1, "updated"), (1, "deleted"), (1, "entity_not_found"), (2, "created"), (2, "created")
    )
    assert_json(response, 200, expected)
    assert stored_rules(repo) == {103: (2, ["103"])}


def test_results_come_in_request_order(client, auth, repo):
    push(client, auth, item(20, 20, "20"), item(40, 40, "40"))
    response = push(client, auth, item(50, 50, "50"), item(40, 40), item(30, 30), item(20, 20, "2"), item(10, 10, "1"))
    expected = result((50, "created"), (40, "deleted"), (30, "entity_not_found"), (20, "updated"), (10, "created"))
    assert_json(response, 200, expected)
    assert stored_rules(repo) == {10: (10, ["1"]), 20: (20, ["2"]), 50: (50, ["50"])}


def test_an_empty_list_items_answers_an_empty_result(client, auth, repo):
    push(client, auth, item(1, 101, "101"))
    response = client.post(LINK_ITEMS, json={"list_items": []}, headers=auth)
    assert response.get_data(as_text=True) == '{"result":[]}\n'
    assert response.mimetype == "application/json"
    assert stored_rules(repo) == {101: (1, ["101"])}
