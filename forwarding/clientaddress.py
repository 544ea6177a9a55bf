"""The client's address, parsed once per request before anything reads it.

nginx reports the client's address in REMOTE_ADDR, and so may anything else that can connect to
uWSGI's socket, with any text in it (README, "Deploying"). Whatever is not an IP address becomes
INVALID, so the throttle, the logs and the failed-login table see an address or that one
placeholder, never a newline or an escape sequence (requestlog.py parses it for each request).
"""

import functools
import ipaddress

# What a REMOTE_ADDR that is not an IP address is logged and throttled as: all such clients share it.
INVALID = "invalid-address"
# The prefix one IPv6 subscriber is given at least (RFC 6177): one client, as an IPv4 address is.
IPV6_CLIENT_PREFIX = 64


# Longer than any address's text: such a value is parsed each time, so the cache holds short strings only.
_KEPT_LENGTH = 64


def parse(value):
    """`value` as an IP address in its canonical form (`::ffff:192.0.2.1` as `192.0.2.1`), or INVALID."""
    if value is not None and len(value) > _KEPT_LENGTH:
        return _parse(value)
    return _parsed(value)  # a client sends many requests: its address is parsed once in a while


@functools.lru_cache(maxsize=1024)
def _parsed(value):
    return _parse(value)


def _parse(value):
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return INVALID
    if address.version == 6:
        if address.scope_id is not None:  # `fe80::1%eth0`: the zone is free text
            return INVALID
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
    return str(address)


def client_network(address):
    """What counts per client key on, for a parsed `address`: an IPv4 address itself, an IPv6 address's
    /64 (`2001:db8::/64`), whose 2**64 addresses one client may use in turn; INVALID stays INVALID."""
    if address == INVALID or ":" not in address:
        return address
    return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
