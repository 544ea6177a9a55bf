"""The rules and their history: the lists, one rule, the writes of the API and of the operator.

Every write is one `change(...)`: it notes the rules the write may touch as they are, lets the
write run, and records in the history each of them whose state then differs, in the same
transaction. No SQL is ever built from input: every statement is fixed text.
"""

import json
import time
import typing
from contextlib import contextmanager
from json.encoder import encode_basestring_ascii

from ..limits import HISTORY_LIMIT, HISTORY_MAX_BYTES, INT64_MAX, MAX_RULES
from .database import DATABASE_ID, HISTORY_BARRIER, HISTORY_ISSUED, RECORD_NUMBERS_BYTES, RULES_VERSION
from .history import (
    HISTORY_COLUMNS,
    Change,
    HistoryPruned,
    Outcome,
    Source,
    following_statement,
    history_statements,
)


class TooManyRules(Exception):
    """A write would leave more rules than the bound `limit`; it was rolled back whole."""

    def __init__(self, limit):
        super().__init__(f"more than {limit} rules")
        self.limit = limit


# The rules of a page as the API shows them, JSON made by SQLite: the entries are stored as JSON
# already, and decoding and encoding them again in Python is most of a list request's own work.
# The plain list never shows link_id.
_ITEM = "json_object('forward_number', forward_number, 'forward_entity_list', json(entities))"
_LINKED_ITEM = (
    "json_object('link_id', link_id, 'forward_number', forward_number, 'forward_entity_list', json(entities))"
)


def _page(item, rows, linked_only, descending):
    # A page is found in two steps: the key of its first rule, `:offset` entries into the slim
    # index rules_by_number, then `:limit` rules from that key on. A page past the end has no
    # first key (NULL), so it is empty.
    where = "link_id IS NOT NULL AND " if linked_only else ""
    first = "WHERE link_id IS NOT NULL " if linked_only else ""
    bound, order = ("<=", " DESC") if descending else (">=", "")
    return f"""SELECT {item} FROM {rows}
        WHERE {where}forward_number {bound} (SELECT forward_number FROM rules INDEXED BY rules_by_number
                                 {first}ORDER BY forward_number{order} LIMIT 1 OFFSET :offset)
        ORDER BY forward_number{order} LIMIT :limit"""


COUNT_ALL = "SELECT count(*) FROM rules"
COUNT_LINKED = "SELECT count(*) FROM rules WHERE link_id IS NOT NULL"
PAGE = _page(_ITEM, "rules", linked_only=False, descending=False)
PAGE_DESCENDING = _page(_ITEM, "rules", linked_only=False, descending=True)
LINKED_PAGE = _page(_LINKED_ITEM, "rules INDEXED BY rules_by_number", linked_only=True, descending=False)
LINKED_PAGE_DESCENDING = _page(_LINKED_ITEM, "rules INDEXED BY rules_by_number", linked_only=True, descending=True)
BY_LINK_ID = f"SELECT {_LINKED_ITEM} FROM rules WHERE link_id = ?"

# The rules a write may touch, as they were before it, go to temp.touched (database.TOUCHED).
SNAPSHOT_ALL = "INSERT OR IGNORE INTO temp.touched SELECT forward_number, link_id, entities FROM rules"
SNAPSHOT_NUMBERS = f"{SNAPSHOT_ALL} WHERE forward_number IN (SELECT value FROM json_each(?))"
SNAPSHOT_LINK_IDS = f"{SNAPSHOT_ALL} WHERE link_id IN (SELECT value FROM json_each(?))"
SNAPSHOT_CREATED = "INSERT OR IGNORE INTO temp.touched (forward_number) SELECT forward_number FROM rules"
SNAPSHOT_ABSENT = "INSERT OR IGNORE INTO temp.touched (forward_number) SELECT value FROM json_each(?)"
# The same for one number (a single rule's write): a seek each, with no JSON to parse.
SNAPSHOT_NUMBER = f"{SNAPSHOT_ALL} WHERE forward_number = ?"
SNAPSHOT_ABSENT_NUMBER = "INSERT OR IGNORE INTO temp.touched (forward_number) VALUES (?)"
# One record per touched rule whose state differs from its snapshot: the removed rules first, so
# that a link_id's move from one rule to another reads as its old rule's deletion, then the new rule.
# Each record's `size` and `bytes_before` as database.py's step _history_sizes fills them in, and
# its id: ids continue past the newest ever issued (`:issued`), even when every record was pruned.
RECORD = f"""INSERT INTO history (id, time_ms, source, request_id, forward_number, before_link_id, before_entities,
                             after_link_id, after_entities, size, bytes_before)
    SELECT :issued + row_number() OVER (ORDER BY kept, number), :time_ms, :source, :request_id, number,
        before_link_id, before_entities, after_link_id, after_entities,
        size, :bytes_before + sum(size) OVER (ORDER BY kept, number ROWS UNBOUNDED PRECEDING) - size
    FROM (SELECT t.forward_number AS number, t.link_id AS before_link_id, t.entities AS before_entities,
                 r.link_id AS after_link_id, r.entities AS after_entities, r.forward_number IS NOT NULL AS kept,
                 {RECORD_NUMBERS_BYTES} + length(:source) + coalesce(length(:request_id), 0)
                     + coalesce(length(t.entities), 0) + coalesce(length(r.entities), 0) AS size
          FROM temp.touched AS t LEFT JOIN rules AS r ON r.forward_number = t.forward_number
          WHERE t.entities IS NOT r.entities OR t.link_id IS NOT r.link_id)
    ORDER BY kept, number"""
# The bytes of every record so far: the next record's `bytes_before`.
HISTORY_BYTES = "SELECT bytes_before + size FROM history ORDER BY id DESC LIMIT 1"
# The first record kept under the bound in bytes: the oldest whose own bytes and those after it fit.
FIRST_WITHIN_BYTES = "SELECT id FROM history WHERE bytes_before >= ? ORDER BY bytes_before LIMIT 1"
# Before the records are written: HISTORY_BYTES, and the newest id ever issued (the newest
# record's, or the one noted when it was pruned).
BEFORE_RECORD = f"""SELECT coalesce(({HISTORY_BYTES}), 0),
    max(coalesce((SELECT max(id) FROM history), 0),
        coalesce((SELECT CAST(value AS INTEGER) FROM settings WHERE name = '{HISTORY_ISSUED}'), 0))"""
# Whether a write changed a rule, when it records nothing.
CHANGED = """SELECT EXISTS (SELECT 1 FROM temp.touched AS t LEFT JOIN rules AS r ON r.forward_number = t.forward_number
    WHERE t.entities IS NOT r.entities OR t.link_id IS NOT r.link_id)"""
# A write that changed something: the data's generation moves on, and the newest id issued is noted.
_BUMP = f"""ON CONFLICT (name) DO UPDATE SET
    value = CASE name WHEN '{RULES_VERSION}' THEN CAST(value AS INTEGER) + 1 ELSE excluded.value END"""
BUMP = f"INSERT INTO settings (name, value) VALUES ('{RULES_VERSION}', 1) {_BUMP}"
BUMP_AND_ISSUED = f"INSERT INTO settings (name, value) VALUES ('{RULES_VERSION}', 1), ('{HISTORY_ISSUED}', ?) {_BUMP}"
FOLLOWING_SETTINGS = f"SELECT name, value FROM settings WHERE name IN ('{HISTORY_ISSUED}', '{HISTORY_BARRIER}')"
GENERATION = f"""SELECT (SELECT value FROM settings WHERE name = '{DATABASE_ID}'),
    (SELECT value FROM settings WHERE name = '{RULES_VERSION}')"""


class Rules:
    """The rules and their history in `database` (a database.Database): at most `max_rules` rules
    (a write past it raises TooManyRules); the newest `history_limit` records of the history are
    kept (0: none), fewer where they pass `history_max_bytes` (the newest always)."""

    def __init__(self, database, history_limit=HISTORY_LIMIT, history_max_bytes=HISTORY_MAX_BYTES, max_rules=MAX_RULES):
        self.database = database
        self.history_limit = history_limit
        self.history_max_bytes = history_max_bytes
        self.max_rules = max_rules
        self._read = database.connection.execute  # a statement outside a transaction

    @contextmanager
    def change(self, source, request_id, numbers=(), link_ids=(), everything=False):
        """A write transaction on the rules, which yields the connection. First it notes the rules
        with these forward_numbers or link_ids as they are, and the numbers that have no rule yet;
        or, with `everything`, every rule, and as it ends the rules created since. As it commits,
        within it, the history gains one record per noted rule whose state differs."""
        with self.database.transaction() as db:
            # The snapshot also tells whether the write changed anything: the data's generation
            # (`generation`) moves only then.
            self._snapshot(db, numbers, link_ids, everything)
            yield db
            if everything:
                db.execute(SNAPSHOT_CREATED)
            if self.history_limit:
                values = {"time_ms": round(time.time() * 1000), "source": source.value, "request_id": request_id}
                # Read first, values: the insert reading the table it writes would copy its rows first.
                values["bytes_before"], values["issued"] = db.execute(BEFORE_RECORD).fetchone()
                recorded = db.execute(RECORD, values).rowcount
                changed = recorded > 0
            else:
                recorded, changed = 0, db.execute(CHANGED).fetchone()[0]
            db.execute("DELETE FROM temp.touched")
            before_prune = db.total_changes
            self._prune(db)
            if recorded:
                db.execute(BUMP_AND_ISSUED, (values["issued"] + recorded,))
            elif changed or db.total_changes != before_prune:
                db.execute(BUMP)

    @staticmethod
    def _snapshot(db, numbers, link_ids, everything):
        if everything:
            db.execute(SNAPSHOT_ALL)
        if len(numbers) == 1 and not link_ids:
            db.execute(SNAPSHOT_NUMBER, numbers)
            db.execute(SNAPSHOT_ABSENT_NUMBER, numbers)
            return
        if numbers:
            numbers = json.dumps(numbers)  # up to 100,000 ids: encoded once for both statements
            db.execute(SNAPSHOT_NUMBERS, (numbers,))
        if link_ids:
            db.execute(SNAPSHOT_LINK_IDS, (json.dumps(link_ids),))
        if numbers:
            db.execute(SNAPSHOT_ABSENT, (numbers,))

    def _prune(self, db):
        # A range of the oldest rowids, its start found by a seek: its cost is the records this
        # write added, whatever the history's size (more once, after a bound is lowered).
        newest = db.execute("SELECT id, bytes_before + size FROM history ORDER BY id DESC LIMIT 1").fetchone()
        if newest is None:
            return
        newest, total_bytes = newest
        first_kept = newest - self.history_limit + 1
        if total_bytes > self.history_max_bytes:
            within = db.execute(FIRST_WITHIN_BYTES, (total_bytes - self.history_max_bytes,)).fetchone()
            first_kept = max(first_kept, newest if within is None else min(within[0], newest))
        db.execute("DELETE FROM history WHERE id < ?", (first_kept,))

    def _within_bound(self, db):
        """Raise TooManyRules, rolling the write back, if it left more rules than the bound."""
        # Counted after the write, in its transaction: exact whatever it did (link_ids moved,
        # rules removed), and a slim index's scan, bounded by the bound itself.
        if db.execute(COUNT_ALL).fetchone()[0] > self.max_rules:
            raise TooManyRules(self.max_rules)

    # -- the API's writes ------------------------------------------------------------------------

    def apply_link_items(self, items, request_id=None):
        """Apply `(link_id, forward_number, entities)` items in order; one Outcome each.

        A non-empty list creates or replaces the rule and gives it the link_id, removing any
        other rule that held that link_id (INSERT OR REPLACE deletes every row it conflicts
        with). An empty list removes the rule. Each item sees the ones before it.
        """
        # Every rule the push may touch: those it names, and those holding a link_id it gives.
        numbers, link_ids = [number for _, number, _ in items], [link_id for link_id, _, _ in items]
        with self.change(Source.LINK, request_id, numbers=numbers, link_ids=link_ids) as db:
            outcomes = _apply(db, items)
            self._within_bound(db)
            return outcomes

    def put_rule(self, number, entities, request_id=None):
        """Create or replace one rule, keeping its link_id; an empty list removes it."""
        with self.change(Source.ITEM, request_id, numbers=[number]) as db:
            if entities:
                db.execute(
                    "INSERT INTO rules (forward_number, entities) VALUES (?, ?)"
                    " ON CONFLICT (forward_number) DO UPDATE SET entities = excluded.entities",
                    (number, entities_text(entities)),
                )
                self._within_bound(db)
            else:
                db.execute(DELETE, (number,))

    def delete_rules(self, numbers, request_id=None):
        with self.change(Source.DELETE, request_id, numbers=numbers) as db:
            return _delete_each(db, DELETE, numbers)

    def delete_linked_rules(self, link_ids, request_id=None):
        with self.change(Source.DELETE_LINK, request_id, link_ids=link_ids) as db:
            return _delete_each(db, "DELETE FROM rules WHERE link_id = ?", link_ids)

    # -- the API's reads -------------------------------------------------------------------------

    def page(self, limit, page_number, descending=False):
        """`(total, page)`: how many rules there are, and one page of them as a JSON array of the
        API's objects."""
        return self._page(COUNT_ALL, PAGE_DESCENDING if descending else PAGE, limit, page_number)

    def linked_page(self, limit, page_number, descending=False, link_id=None):
        """`page` of the rules that have a link_id, or of the one with `link_id`."""
        if link_id is None:
            statement = LINKED_PAGE_DESCENDING if descending else LINKED_PAGE
            return self._page(COUNT_LINKED, statement, limit, page_number)
        offset = min((page_number - 1) * limit, INT64_MAX)
        row = self._read(BY_LINK_ID, (link_id,)).fetchone()
        total, rows = (0, []) if row is None else (1, [row][offset : offset + limit])
        return total, _array(rows)

    @contextmanager
    def reading(self):
        """One snapshot for the reads inside it (and it yields the connection): they see one state of the database."""
        db = self.database.connection
        if db.in_transaction:
            yield db
        else:
            with self.database.transaction("DEFERRED") as db:
                yield db

    def generation(self):
        """A string that changes whenever the rules or the history change, and with every restore
        (a new database id): never the same for two states of the data."""
        database_id, version = self._read(GENERATION).fetchone()  # one row: read by every GET of an ETag's answer
        return f"{database_id}.{0 if version is None else version}"

    def _page(self, count, page, limit, page_number):
        values = {"offset": min((page_number - 1) * limit, INT64_MAX), "limit": limit}
        with self.reading() as db:  # the count and the page from one snapshot
            total = db.execute(count).fetchone()[0]
            rows = db.execute(page, values).fetchall()
        return total, _array(rows)

    def rule(self, number):
        """`(link_id, entities)` of the rule with this forward_number, or None."""
        row = self._read("SELECT link_id, entities FROM rules WHERE forward_number = ?", (number,)).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    def history(self, limit, page_number, number=None, link_id=None):
        """`(total, changes)`: how many records match, and one page of them as Change values,
        newest first; `number` and `link_id` keep the records of that rule, or that link_id
        before or after."""
        values = {"number": number, "link_id": link_id, "keep": self.history_limit}
        values.update(limit=limit, offset=min((page_number - 1) * limit, INT64_MAX))
        count, page = history_statements(number, link_id)
        with self.reading() as db:  # the count and the page from one snapshot
            total = db.execute(count, values).fetchone()[0]
            rows = db.execute(f"SELECT {HISTORY_COLUMNS} FROM history {page}", values).fetchall()
        return total, [Change(*row) for row in rows]

    def following(self, after_id, limit, number=None, link_id=None):
        """The records after `after_id`, oldest first, at most `limit`, filtered as `history`'s.
        Raises HistoryPruned if some record after `after_id` can no longer be seen: pruned,
        before a restore's barrier, or not issued yet."""
        keep = self.history_limit
        if not keep:
            return []
        with self.reading() as db:
            oldest, newest = db.execute("SELECT min(id), max(id) FROM history").fetchone()
            settings = dict(db.execute(FOLLOWING_SETTINGS).fetchall())
            issued = max(newest or 0, int(settings.get(HISTORY_ISSUED, 0)))
            # The ids kept are contiguous: the first one a list shows, or past the newest issued.
            first_shown = issued + 1 if newest is None else max(oldest, newest - keep + 1)
            if not int(settings.get(HISTORY_BARRIER, 0)) <= after_id <= issued or after_id < first_shown - 1:
                raise HistoryPruned()
            values = {"number": number, "link_id": link_id, "after_id": after_id, "limit": limit}
            rows = db.execute(following_statement(number, link_id), values).fetchall()
        return [Change(*row) for row in rows]

    # -- for the operator's commands (cli/rules.py) ---------------------------------------------

    def count(self):
        return self._read(COUNT_ALL).fetchone()[0]

    def each_rule(self, limit=None):
        """Every rule, or the first `limit`, as `(link_id, forward_number, entities)` in
        forward_number order; read lazily, from one snapshot."""
        rows = self._read(
            "SELECT link_id, forward_number, entities FROM rules ORDER BY forward_number LIMIT ?",
            (-1 if limit is None else limit,),  # SQLite: a negative LIMIT is no limit
        )
        return ((link_id, number, json.loads(text)) for link_id, number, text in rows)

    def import_rules(self, rules, replace=False):
        """Write `(link_id, forward_number, entities)` rules in one transaction, as the API would.

        A rule with a link_id takes it from any other rule, which is removed (as a Link push
        does); one without keeps the link_id it has (as a single rule's write does); an empty
        list removes the rule. `replace` removes every rule first. Returns what changed, as the
        history has it: ImportCounts, each rule counted once by how it ends up against how it
        was before the import.
        """
        numbers = []

        def noted(rules):  # `rules` is read once, as it is written (it may be a progress bar)
            for rule in rules:
                numbers.append(rule[1])
                yield rule

        with self.change(Source.IMPORT, None, everything=True) as db:
            # Every rule as it was, whether the history is kept or not: the counts compare them.
            db.execute(SNAPSHOT_ALL)
            if replace:
                db.execute("DELETE FROM rules")
            _apply(db, noted(rules))
            self._within_bound(db)
            return ImportCounts(*db.execute(IMPORT_COUNTS, (json.dumps(numbers),)).fetchone())


class ImportCounts(typing.NamedTuple):
    created: int
    updated: int
    unchanged: int  # rules of the file that were as the file has them (or absent, and still are)
    removed: int


# temp.touched holds every rule as it was before the import; `?` the file's numbers.
IMPORT_COUNTS = """SELECT
    (SELECT count(*) FROM rules AS r WHERE r.forward_number NOT IN (SELECT forward_number FROM temp.touched)),
    (SELECT count(*) FROM rules AS r JOIN temp.touched AS t USING (forward_number)
        WHERE t.entities IS NOT r.entities OR t.link_id IS NOT r.link_id),
    (SELECT count(*) FROM json_each(?) AS f
        LEFT JOIN temp.touched AS t ON t.forward_number = f.value LEFT JOIN rules AS r ON r.forward_number = f.value
        WHERE t.entities IS r.entities AND t.link_id IS r.link_id),
    (SELECT count(*) FROM temp.touched AS t WHERE t.forward_number NOT IN (SELECT forward_number FROM rules))"""


def _array(rows):
    return f"[{','.join(item for (item,) in rows)}]"


# A rule's write, in two steps that SQLite tells apart: CREATE inserts the rule if no rule has its
# number, taking its link_id from any rule that held it (OR REPLACE), and else writes nothing (DO
# NOTHING: SQLite checks the key before the link_id, which tests/test_storage.py holds it to), so
# its count of rows says whether the rule was there;
# REPLACE then replaces the rule's list and link_id in place, keeping its link_id where none is
# given, and removes any other rule that held that link_id (OR REPLACE).
CREATE = (
    "INSERT OR REPLACE INTO rules (forward_number, link_id, entities) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (forward_number) DO NOTHING"
)
REPLACE = "UPDATE OR REPLACE rules SET link_id = coalesce(?2, link_id), entities = ?3 WHERE forward_number = ?1"
DELETE = "DELETE FROM rules WHERE forward_number = ?"


def entities_text(entities):
    """A rule's list of strings, byte for byte as `json.dumps` writes it (the stored rules and the
    history compare and count these bytes), without the encoder `json.dumps` sets up per call."""
    return f"[{', '.join(map(encode_basestring_ascii, entities))}]"


def _apply(db, rules):
    # A rule whose link_id is None keeps the one it has: the import of a legacy table.
    outcomes = []
    execute = db.cursor().execute  # one cursor for every item: the connection's execute makes one per call
    for link_id, number, entities in rules:
        if not entities:
            outcomes.append(Outcome.DELETED if execute(DELETE, (number,)).rowcount else Outcome.NOT_FOUND)
            continue
        values = (number, link_id, entities_text(entities))
        if execute(CREATE, values).rowcount:
            outcomes.append(Outcome.CREATED)
        else:
            execute(REPLACE, values)
            outcomes.append(Outcome.UPDATED)
    return outcomes


def _delete_each(db, statement, keys):
    # One at a time, in order: a key repeated in one request finds nothing the second time.
    return [Outcome.DELETED if db.execute(statement, (key,)).rowcount else Outcome.NOT_FOUND for key in keys]
