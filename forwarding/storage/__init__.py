"""The storage layer: plain `sqlite3`, no Flask. One `Storage` per connection (db.py keeps one per
thread): the database file (database.py), the rules with their history (rules.py), the access
records (access.py)."""

from ..limits import HISTORY_LIMIT, HISTORY_MAX_BYTES, MAX_RULES
from .access import Access
from .database import Database
from .rules import Rules


class Storage:
    """A connection to the database file at `path`, and the parts that work on it."""

    def __init__(
        self,
        path,
        busy_timeout_ms=30000,
        history_limit=HISTORY_LIMIT,
        history_max_bytes=HISTORY_MAX_BYTES,
        max_rules=MAX_RULES,
    ):
        self.database = Database.open(path, busy_timeout_ms)
        self.rules = Rules(self.database, history_limit, history_max_bytes, max_rules)
        self.access = Access(self.database)

    def close(self):
        self.database.close()
