"""What a valid value is: the integer range, the vendor's five patterns, and the size limits.

One module, imported by the schemas, the OpenAPI document, the rule file of the CLI and the
storage, so that each states the same limits (docs/api.md, "The forward rule").
"""

import re

# forward_number, link_id and the ids of the deletes: 1 .. 2**63 - 1, SQLite's INTEGER.
INT64_MAX = 2**63 - 1

# Newest records of the history kept (FORWARDING_HISTORY_LIMIT changes it; 0 keeps none).
HISTORY_LIMIT = 100_000

# The history's records past this many bytes are pruned too, oldest first (FORWARDING_HISTORY_MAX_BYTES):
# the records bound alone lets a history of large rules grow to gigabytes.
HISTORY_MAX_BYTES = 256 * 2**20

# Most rules kept (FORWARDING_MAX_RULES): far above any building's, it bounds the database's size.
MAX_RULES = 100_000

# Most entries in one forward_entity_list: the panel's limit (FORWARDING_MAX_ENTITIES changes it).
MAX_ENTITIES = 8

# The vendor's patterns, reproduced exactly, including what they let through. Compiled ASCII-only,
# so that `\d` is `[0-9]` and `\b` looks at ASCII word characters; always matched over the whole entry.
PATTERNS = (
    r"\d+",
    r"^laskomex:\d+$",
    r"^vizit:\d+$",
    r"^sip:([0-9A-Za-z+\-_]*@)((\b((25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?(?:\:\d{1,5})?)(\.|$)){4}\b)"
    r"|([0-9]*[A-Za-z+\-_]+[0-9]*)((\.([0-9]*[A-Za-z+\-_]+[0-9]*))+\b))$",
    r"^sip:(\b((25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?(?:\:\d{1,5})?)(\.|$)){4}\b)$",
)

# One alternation is one pass of the regex engine per entry instead of up to five.
ANY_PATTERN = re.compile("|".join(f"(?:{p})" for p in PATTERNS), re.ASCII)

# Longest entry accepted: far above any real SIP URI (a user part, `@` and a 253-character DNS
# name), far below the lengths where the SIP host pattern turns slow (bench/patterns.py).
MAX_ENTRY_LENGTH = 512


def is_int64(value):
    """True for a JSON integer in 1 .. INT64_MAX (`type(...) is int`: a bool is an int to Python)."""
    return type(value) is int and 0 < value <= INT64_MAX


def is_forward_entity(value):
    """True when `value` is a string of at most MAX_ENTRY_LENGTH characters that one of the
    patterns matches over its whole length."""
    return type(value) is str and len(value) <= MAX_ENTRY_LENGTH and ANY_PATTERN.fullmatch(value) is not None


# Most elements in `list_items`, `uid_items` or `link_ids`: a building's push is a few thousand;
# more is refused as too large, before any work.
MAX_LIST_ELEMENTS = 100_000

# What one request may take in memory, its answer included: this many times its body, and this
# much besides (a body at the limit, 16 MiB, may take 360 MiB).
MEMORY_PER_BODY_BYTE = 20
MEMORY_BESIDES_BODY = 40 * 2**20
