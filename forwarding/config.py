"""Settings: defaults in code, each overridable by an environment variable `FORWARDING_<NAME>`."""

import difflib
import os

from .limits import HISTORY_LIMIT, HISTORY_MAX_BYTES, INT64_MAX, MAX_ENTITIES, MAX_RULES

DEFAULTS = {
    # The SQLite file; relative paths are taken from the working directory.
    "DATABASE": os.path.join("instance", "forwarding.db"),
    # Seconds a login token stays valid (the panel's 2 hours).
    "TOKEN_LIFETIME": 7200,
    # Most entries in one forward_entity_list (the panel's limit).
    "MAX_ENTITIES": MAX_ENTITIES,
    # Largest request body accepted, in bytes (Flask's own setting, 16 MiB).
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    # Milliseconds a writer waits for another worker's transaction before giving up.
    "BUSY_TIMEOUT_MS": 30000,
    # Seconds a verified Basic credential is remembered, so the slow hash runs once, not per request.
    "BASIC_AUTH_CACHE_SECONDS": 60,
    # After this many failed logins (or HTTP Basic checks) for one username from one address
    # within LOGIN_WINDOW_SECONDS, its attempts are refused unchecked for LOGIN_BLOCK_SECONDS.
    "LOGIN_MAX_FAILURES": 10,
    "LOGIN_WINDOW_SECONDS": 900,
    "LOGIN_BLOCK_SECONDS": 900,
    # After this many failed password checks from one address, whatever the usernames, within
    # LOGIN_ADDRESS_WINDOW_SECONDS, its password checks are refused unchecked until the window
    # ends: each costs a slow hash, and fresh usernames would never meet the block above.
    "LOGIN_ADDRESS_MAX_FAILURES": 30,
    "LOGIN_ADDRESS_WINDOW_SECONDS": 300,
    # Password checks (each a slow hash) in progress at once in the whole service, whatever the
    # workers: an attempt over it is refused unchecked. One keeps one of the 2 cores and 3 of
    # the 4 workers free for everything else however many addresses a flood comes from (README).
    "PASSWORD_CHECKS": 1,
    # Empty: a serial is made on first start and kept in the database.
    "DEVICE_SERIAL": "",
    "DEVICE_MODEL": "forwarding",
    "FIRMWARE_VERSION": "1.0.0",
    # The log's format: "text", or "json" for one JSON object per line.
    "LOG_FORMAT": "text",
    # Newest records of the history of changes kept; 0 records none and lists none.
    "HISTORY_LIMIT": HISTORY_LIMIT,
    # Bytes the history's records may take (their text and 48 for each one's numbers); past it,
    # as past HISTORY_LIMIT, the oldest are pruned.
    "HISTORY_MAX_BYTES": HISTORY_MAX_BYTES,
    # Most rules kept: a write that would leave more is refused whole.
    "MAX_RULES": MAX_RULES,
    # Writes with a body (pushes, deletes, one rule's write) in progress at once across every
    # worker; one over it is answered 429 at once, so that the other workers stay free for reads.
    "WRITES_IN_PROGRESS": 2,
}


# What an integer setting must be: (its unit, least, most). One not named here: a whole number
# from 1 to INT64_MAX.
INTEGERS = {
    "TOKEN_LIFETIME": ("seconds", 1, INT64_MAX),
    "MAX_CONTENT_LENGTH": ("bytes", 1024, INT64_MAX),  # room for a push of a few rules
    "BUSY_TIMEOUT_MS": ("milliseconds", 1, 2**31 - 1),  # SQLite keeps it in a C int
    "BASIC_AUTH_CACHE_SECONDS": ("seconds", 0, INT64_MAX),  # 0: every Basic request checks the hash
    "LOGIN_WINDOW_SECONDS": ("seconds", 1, INT64_MAX),
    "LOGIN_BLOCK_SECONDS": ("seconds", 1, 366 * 86400),  # its end is shown as a date
    "LOGIN_ADDRESS_WINDOW_SECONDS": ("seconds", 1, 366 * 86400),  # likewise
    "HISTORY_LIMIT": ("records", 0, INT64_MAX),  # 0: no history
    "HISTORY_MAX_BYTES": ("bytes", 65536, INT64_MAX),  # room for the largest record, always kept
    "MAX_RULES": ("rules", 1, INT64_MAX),
    "WRITES_IN_PROGRESS": ("requests", 1, 64),  # a slot file each (slots.py)
    "PASSWORD_CHECKS": ("password checks", 1, 64),  # a slot file each (slots.py)
}
CHOICES = {"LOG_FORMAT": ("text", "json")}
NOT_EMPTY = {"DATABASE"}

# FORWARDING_* variables that are not settings of the app but are read by wsgi.ini (the sockets
# and the workers), by deploy/nginx.conf's envsubst, and by the end-to-end tests.
ELSEWHERE = (
    "UWSGI_SOCKET",
    "UWSGI_SOCKET_OWNER",
    "HTTP_SOCKET",
    "PROCESSES",
    "NGINX_LISTEN",
    "NGINX_PLAIN_LISTEN",
    "NGINX_CERTIFICATE",
    "NGINX_CERTIFICATE_KEY",
    "NGINX_LOGS",
    "E2E",
    "REPLICA_URL",  # read by Litestream (deploy/litestream.yml)
    "ENV_FILE",  # read by the command (cli/__init__.py): the settings file to read
)


class BadSetting(ValueError):
    """A setting the service cannot use; the message names the variable, its value and what it must be."""


def from_environment(environ=os.environ, prefix="FORWARDING_"):
    """The settings that `environ` overrides, converted to the type of their default.
    Raises BadSetting."""
    overrides = {}
    for name, default in DEFAULTS.items():
        raw = environ.get(prefix + name)
        if raw is not None:
            overrides[name] = _value(prefix + name, raw, default)
    return overrides


def _value(variable, raw, default):
    name = variable.split("_", 1)[1]
    if isinstance(default, int):
        unit, least, most = INTEGERS.get(name, (None, 1, INT64_MAX))
        what = "a whole number" + (f" of {unit}" if unit else "")
        what += f", at least {least}" if most == INT64_MAX else f" from {least} to {most}"
        # Plain ASCII digits only: int() would also take " 60 ", "1_000" and other scripts' digits.
        if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(most)) or not least <= int(raw) <= most:
            raise BadSetting(f"{variable} is {raw!r}: it must be {what}")
        return int(raw)
    if name in CHOICES and raw not in CHOICES[name]:
        raise BadSetting(f"{variable} is {raw!r}: it must be {' or '.join(CHOICES[name])}")
    if name in NOT_EMPTY and not raw:
        raise BadSetting(f"{variable} is empty: it must be the path of the SQLite file")
    return raw


def unknown(environ=os.environ, prefix="FORWARDING_"):
    """A warning for each `prefix` variable of `environ` that nothing reads: a misspelt setting
    would otherwise be ignored without a word."""
    known = (*DEFAULTS, *ELSEWHERE)
    warnings = []
    for variable in sorted(name for name in environ if name.startswith(prefix)):
        name = variable[len(prefix) :]
        if name in known:
            continue
        closest = difflib.get_close_matches(name, known, n=1)  # the names alone: the prefix is alike in all
        hint = f"did you mean {prefix}{closest[0]}?" if closest else "the settings are in the README, Configuration"
        warnings.append(f"{variable} is not a setting of forwarding, and is ignored ({hint})")
    return warnings
