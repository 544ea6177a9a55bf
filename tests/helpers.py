"""Plain helpers for the tests (fixtures live in conftest.py)."""

import base64
import json

from werkzeug.security import generate_password_hash

MD5_123456 = "e10adc3949ba59abbe56e057f20f883e"  # what a client sends as the factory password


def quick_hash(md5_digest=MD5_123456):
    """A password hash of one round, for tests that check the password dozens of times."""
    return generate_password_hash(md5_digest, "pbkdf2:sha256:1")


def basic(username, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def stored_rules(repo):
    """Every rule in the database as `{forward_number: (link_id, entities)}`."""
    rows = repo.db.execute("SELECT forward_number, link_id, entities FROM rules ORDER BY forward_number")
    return {number: (link_id, json.loads(entities)) for number, link_id, entities in rows}
