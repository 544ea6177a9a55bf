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
_ANY = re.compile("|".join(f"(?:{p})" for p in PATTERNS), re.ASCII)


def is_forward_entity(value):
    """True when `value` is a string that one of the patterns matches over its whole length."""
    return type(value) is str and _ANY.fullmatch(value) is not None
