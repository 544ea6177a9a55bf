"""Settings: defaults in code, each overridable by an environment variable `FORWARDING_<NAME>`."""

import os

from .limits import MAX_ENTITIES

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
    # Empty: a serial is made on first start and kept in the database.
    "DEVICE_SERIAL": "",
    "DEVICE_MODEL": "forwarding",
    "FIRMWARE_VERSION": "1.0.0",
    # The log's format: "text", or "json" for one JSON object per line.
    "LOG_FORMAT": "text",
}


def from_environment(environ=os.environ, prefix="FORWARDING_"):
    """The settings that `environ` overrides, converted to the type of their default."""
    overrides = {}
    for name, default in DEFAULTS.items():
        raw = environ.get(prefix + name)
        if raw is None:
            continue
        if isinstance(default, int):
            # Plain ASCII digits only: int() would also take " 60 ", "1_000" and other scripts' digits.
            if not raw.isascii() or not raw.isdigit():
                raise ValueError(f"{prefix}{name} must be an integer, not {raw!r}")
            overrides[name] = int(raw)
        else:
            overrides[name] = raw
    return overrides
