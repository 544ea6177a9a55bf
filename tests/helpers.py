"""Plain helpers for the tests (fixtures live in conftest.py)."""

import base64
import json

MD5_123456 = "e10adc3949ba59abbe56e057f20f883e"  # what a client sends as the factory password


def basic(username, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def stored_rules(repo):
    """Every rule in the database as `{forward_number: (link_id, entities)}`."""
    rows = repo.db.execute("SELECT forward_number, link_id, entities FROM rules ORDER BY forward_number")
    return {number: (link_id, json.loads(entities)) for number, link_id, entities in rows}
