def test_push_then_list(client, auth, repo):
    body = {"list_items": [{"link_id": 7, "forward_number": 101, "forward_entity_list": ["101", "vizit:1"]}]}
    response = client.post("/api/v1/forward/items/link", json=body, headers=auth)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == (
        '{"result":[{"link_id":7,"success":true,"extended_info":"created"}]}\n'
    )
    listed = client.get("/api/v1/forward/items", headers=auth).get_json()
    assert listed["list_items"] == [{"forward_number": 101, "forward_entity_list": ["101", "vizit:1"]}]
