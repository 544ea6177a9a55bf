"""The panel's strings, character for character (api-contract.md, sections 1, 4 and 5).

Every string a client can see lives here and nowhere else.
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
INTERNAL = "Internal server error"

CREATED = "created"
UPDATED = "updated"
DELETED = "deleted"
ENTITY_NOT_FOUND = "entity_not_found"

ACCOUNT_TYPE = "admin"
API_VERSION = "2.9.0"
