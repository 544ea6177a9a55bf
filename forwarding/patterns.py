"""The five forward-number patterns of the vendor (api-contract.md, section 3).

Reproduced exactly, including what they let through. Compiled ASCII-only, so that `\\d` is
`[0-9]` and `\\b` looks at ASCII word characters, and always matched over the whole entry.
"""

import re

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

# Longest entry accepted (decided here, README "Contract notes"): far above any real SIP URI
# (a user part, `@` and a 253-character DNS name), far below where the SIP host pattern gets
# slow: it costs several times more per character than the others, more still past ~64 KB
# (bench/patterns.py), and a 16 MiB body of such entries took seconds of CPU.
MAX_LENGTH = 512


def is_forward_entity(value):
    """True when `value` is a string of at most MAX_LENGTH characters that one of the patterns
    matches over its whole length."""
    return type(value) is str and len(value) <= MAX_LENGTH and ANY_PATTERN.fullmatch(value) is not None


# Most elements in `list_items`, `uid_items` or `link_ids` (README "Contract notes"): a
# building's push is a few thousand; more is refused as too large, before any work.
MAX_LIST_ELEMENTS = 100_000

# What one request may take in memory, its answer included: this many times its body, and this
# much besides (a body at the limit, 16 MiB, may take 360 MiB).
MEMORY_PER_BODY_BYTE = 20
MEMORY_BESIDES_BODY = 40 * 2**20
