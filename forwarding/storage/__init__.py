"""The storage layer: plain `sqlite3`, no Flask. One `Storage` per connection (db.py keeps one per
thread): the database file (database.py), the rules with their history (rules.py), the access
records (access.py)."""

from ..limits import HISTORY_LIMIT
from .access import Access
from .database import Database
from .rules import Rules


class Storage:
    """A connection to the database file at `path`, and the parts that work on it."""

    def __init__(self, path, busy_timeout_ms=30000, history_limit=HISTORY_LIMIT):
        self.database = Database.open(path, busy_timeout_ms)
        self.rules = Rules(self.database, history_limit)
        self.access = Access(self.database)

    def close(self):
        self.database.close()
