"""The history of the rules' changes, as it is read: its records (`Change`), the statements of
its pages and of its cursor, and the words it keeps (`Source`, `Outcome`). rules.py writes it.
"""

import enum
import json


class Outcome(enum.Enum):
    """What a write did to one rule it was asked about; the value is the API's `extended_info`."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    NOT_FOUND = "entity_not_found"


class Source(enum.Enum):
    """Which write made a change; the value is what the history stores and shows."""

    LINK = "link"  # apply_link_items: the Link push
    ITEM = "item"  # put_rule: one rule
    DELETE = "delete"  # delete_rules
    DELETE_LINK = "delete_link"  # delete_linked_rules
    IMPORT = "import"  # import_rules: the operator's import


# Records past the newest `:keep` are pruned, perhaps a transaction late; reads never show them.
_NEWEST = "(SELECT max(id) FROM history)"
_KEPT = f"id > coalesce({_NEWEST}, 0) - :keep"
HISTORY_COLUMNS = (
    "id, time_ms, source, request_id, forward_number, before_link_id, before_entities, after_link_id, after_entities"
)
# Only the oldest records are ever deleted, so the ids are contiguous: the whole history's
# count is the span of its kept ids, and a page starts `:offset` ids below the newest.
HISTORY_COUNT = f"SELECT coalesce({_NEWEST} - max((SELECT min(id) FROM history) - 1, {_NEWEST} - :keep), 0)"
HISTORY_PAGE = f"WHERE id <= {_NEWEST} - :offset AND {_KEPT} ORDER BY id DESC LIMIT :limit"
OF_NUMBER = "forward_number = :number"
AFTER = "id > :after_id"
OF_LINK_ID = "(before_link_id = :link_id OR after_link_id = :link_id)"


def following_statement(number=None, link_id=None):
    """The statement of the records after `:after_id`, oldest first, as `history_statements` filters them."""
    filters = [where for where, given in ((OF_NUMBER, number), (OF_LINK_ID, link_id)) if given is not None]
    where = " AND ".join([*filters, AFTER])
    return f"SELECT {HISTORY_COLUMNS} FROM history WHERE {where} ORDER BY id LIMIT :limit"


class HistoryPruned(Exception):
    """A cursor that can no longer see every record after it (docs/api.md, 7.3)."""


def history_statements(number=None, link_id=None):
    """`(count, page)`: the statements of a history page, of the records of the rule `number`,
    or of `link_id` before or after, or of both, or of them all when both are None."""
    conditions = [where for where, given in ((OF_NUMBER, number), (OF_LINK_ID, link_id)) if given is not None]
    if not conditions:
        return HISTORY_COUNT, HISTORY_PAGE
    where = " AND ".join(conditions)
    count = f"SELECT count(*) FROM history WHERE {where} AND {_KEPT}"
    return count, f"WHERE {where} AND {_KEPT} ORDER BY id DESC LIMIT :limit OFFSET :offset"


class Change:
    """One record of the history: a rule as it was before a transaction and after it.

    `before` and `after` are `(link_id, entities)`, or None where there was no rule.
    """

    __slots__ = ("id", "time_ms", "source", "request_id", "forward_number", "before", "after")

    def __init__(self, id_, time_ms, source, request_id, number, before_link, before, after_link, after):
        self.id = id_
        self.time_ms = time_ms
        self.source = Source(source)
        self.request_id = request_id
        self.forward_number = number
        self.before = None if before is None else (before_link, json.loads(before))
        self.after = None if after is None else (after_link, json.loads(after))

    @property
    def action(self):
        if self.before is None:
            return Outcome.CREATED
        return Outcome.DELETED if self.after is None else Outcome.UPDATED
