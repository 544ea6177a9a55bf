"""The panel's strings, character for character (docs/api.md).

Every string a client can see lives here and nowhere else, but for the words of the writes'
outcomes and the history's sources: the values of `Outcome` and `Source` (storage/rules.py).
"""

WRONG_JSON = "Wrong JSON body"


def no_value(name):
    return f"Wrong JSON body: no value for `{name}`"


def wrong_type(name):
    return f"Wrong JSON body: value `{name}` was of the wrong type"


LOG_IN = "Log In"
PARAMETERS_MISSED = "Required parameters missed"
WRONG_LOGIN = "Wrong login or password"

NOT_FOUND = "Not found"
METHOD_NOT_ALLOWED = "Method not allowed"
TOO_LARGE = "Request body too large"


def too_many_rules(limit):
    return f"Too many forward rules: at most {limit}"


INTERNAL = "Internal server error"
HISTORY_PRUNED = "History pruned past after_id"  # the history's cursor (docs/api.md, 7.3)
BAD_REQUEST = "Bad request"  # a request nginx or uWSGI refuses before it is an HTTP request

# nginx's own answers, written out in deploy/nginx-server.conf (docs/api.md, section 8); the
# service answers TOO_MANY_REQUESTS too, to a write over the writes in progress (endpoint.py).
URI_TOO_LONG = "Request URI too long"
TOO_MANY_REQUESTS = "Too many requests"
NOT_IMPLEMENTED = "Not implemented"

ACCOUNT_TYPE = "admin"
API_VERSION = "2.9.0"
