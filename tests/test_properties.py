"""Property-based tests (hypothesis): whatever a client sends, it gets the answer docs/api.md gives.

Every endpoint gets generated requests: any JSON value, bodies with the right keys and any
values, valid bodies with a few things broken, bytes that are not a JSON object, query strings,
paths, methods and Authorization headers. Every answer must be: below 500; when 400, the
message tests/expected_errors.py works out from docs/api.md; when not 200, the stored rules unchanged.
The examples are the same on every run (the `ci` profile in conftest.py).
"""

import base64
import copy
import json
import shutil
import string
import urllib.parse

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from forwarding.factory import create_app
from forwarding.storage import Storage
from tests.expected_errors import BODY_ERRORS, QUERIES, forward_uid_error, query_error
from tests.helpers import (
    INT64_MAX,
    ITEMS,
    LINK_ITEMS,
    LOGIN,
    MAX_LENGTH,
    MD5_123456,
    NO_THROTTLE,
    WRONG_JSON,
    bearer,
    no_value,
    stored_rules,
    wrong_type,
)

FIELDS = ("list_items", "link_id", "forward_number", "forward_entity_list", "uid_items", "link_ids")
PARAMETERS = ("limit", "page_number", "sort_field", "sort_type", "link_id")
NAMES = FIELDS + PARAMETERS + ("forward-uid",)
# Every 400 of the service is one of these.
PARAMETERS_MISSED, WRONG_LOGIN = "Required parameters missed", "Wrong login or password"
ERRORS_400 = {WRONG_JSON, PARAMETERS_MISSED, WRONG_LOGIN} | {
    message(name) for name in NAMES for message in (no_value, wrong_type)
}

ITEM = "/api/v1/forward/item/101"
BODY_ENDPOINTS = sorted(BODY_ERRORS)
# Where a 200 lists one result per id sent: (the result's key, the ids the body sent).
RESULT_IDS = {
    ("POST", LINK_ITEMS): ("link_id", lambda body: [item["link_id"] for item in body["list_items"]]),
    ("DELETE", ITEMS): ("uid", lambda body: body["uid_items"]),
    ("DELETE", LINK_ITEMS): ("link_id", lambda body: body["link_ids"]),
}


class Service:
    """The app on a database of its own for the whole module, its token, and a connection of
    the test's own to look at the rules."""

    def __init__(self, database, token):
        # No throttling here: the generated logins fail thousands of times (test_abuse.py has it).
        self.app = create_app({"TESTING": True, "DATABASE": database, **NO_THROTTLE})
        self.client = self.app.test_client()
        self.repo = Storage(database)
        self.auth = bearer(token)

    def request(self, method, path, headers=None, **kwargs):
        """The answer, once it passed what every answer must: below 500; a 400 with one of the
        messages of docs/api.md; anything but a 200 leaving the rules as they were."""
        before = stored_rules(self.repo)
        response = self.client.open(path, method=method, headers=self.auth if headers is None else headers, **kwargs)
        assert response.status_code < 500, response.get_data()
        if response.status_code != 200:
            assert list(response.get_json()) == ["error"]
            assert stored_rules(self.repo) == before
        if response.status_code == 400:
            assert response.get_json()["error"] in ERRORS_400
        return response


@pytest.fixture(scope="module")
def service(tmp_path_factory, template):
    path = tmp_path_factory.mktemp("properties") / "forwarding.db"
    shutil.copyfile(template[0], path)
    service = Service(str(path), template[1])
    yield service
    service.repo.close()


# -- what is generated ---------------------------------------------------------------------------

# Few distinct ids, so that pushes and deletes meet rules that exist; and the ends of the range.
ids = st.integers(1, 30) | st.just(INT64_MAX)
out_of_range = st.sampled_from([0, -1, INT64_MAX + 1, 2**64, -INT64_MAX - 1, 10**40])
entities = st.sampled_from(
    [
        "101",
        "laskomex:10",
        "vizit:10",
        "sip:100@sip.bas-ip.com",
        "sip:name@192.168.1.2",
        "sip:192.168.1.2",
        "sip:192.168.1.2:5060",
        "1" * MAX_LENGTH,
    ]
)
near_entities = st.sampled_from(
    [
        "",
        " 101",
        "101\n",
        "\u0661\u0660\u0661",
        "1" * (MAX_LENGTH + 1),
        "vizit:",
        "laskomex:1a",
        "sip:",
        "sip:1.2.3.4.5",
        "SIP:1.2.3.4",
        "sip:a@b",
        "sip:a@b.",
        "sip:@.",
        "tel:101",
    ]
)
# Any text, lone surrogates included (they reach the service as `\ud800` escapes).
texts = st.text(st.characters(exclude_categories=()), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | out_of_range
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
    | entities
    | near_entities
)
keys = st.sampled_from(FIELDS) | texts
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
    max_leaves=16,
)

link_items = st.fixed_dictionaries(
    {"link_id": ids, "forward_number": ids, "forward_entity_list": st.lists(entities, max_size=8)}
)
VALID_BODIES = {
    ("POST", LINK_ITEMS): st.fixed_dictionaries({"list_items": st.lists(link_items, max_size=5)}),
    ("POST", ITEM): st.fixed_dictionaries({"forward_entity_list": st.lists(entities, max_size=8)}),
    ("DELETE", ITEMS): st.fixed_dictionaries({"uid_items": st.lists(ids, max_size=5)}),
    ("DELETE", LINK_ITEMS): st.fixed_dictionaries({"link_ids": st.lists(ids, max_size=5)}),
}

# The keys the API reads, each with any value, or with lists of near-right elements.
item_shapes = st.dictionaries(
    st.sampled_from(["link_id", "forward_number", "forward_entity_list"]) | keys,
    ids | scalars | st.lists(entities | near_entities | scalars, max_size=9),
    max_size=4,
)
shapes = st.dictionaries(
    st.sampled_from(FIELDS),
    json_values | st.lists(item_shapes | ids | out_of_range | json_values, max_size=4),
    max_size=3,
)


def _places(value):
    """Every (container, key or index) inside a JSON value: where a mutation can strike."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in list(children):
        yield value, key
        yield from _places(child)


@st.composite
def mutated(draw, bodies):
    """A valid body with 0 to 3 values replaced, keys or elements removed, or things added."""
    body = copy.deepcopy(draw(bodies))
    for _ in range(draw(st.integers(0, 3))):
        places = list(_places(body))
        if not places:
            break
        container, key = draw(st.sampled_from(places))
        how = draw(st.sampled_from(["replace", "remove", "add"]))
        if how == "replace":
            container[key] = draw(json_values)
        elif how == "remove":
            del container[key]
        elif isinstance(container, dict):
            container[draw(keys)] = draw(json_values)
        else:
            container.insert(key, draw(json_values | entities | ids))
    return body


def check_body_answer(service, endpoint, body):
    method, path = endpoint
    response = service.request(method, path, data=json.dumps(body))
    expected = BODY_ERRORS[endpoint](body)
    if expected is not None:
        assert (response.status_code, response.get_json()) == (400, {"error": expected})
        return
    assert response.status_code == 200
    if endpoint not in RESULT_IDS:
        assert response.get_json() == {}
        return
    key, sent = RESULT_IDS[endpoint]
    results = response.get_json()["result"]
    assert [result[key] for result in results] == sent(body)
    for result in results:
        assert result["extended_info"] in ("created", "updated", "deleted", "entity_not_found")
        assert result["success"] == (result["extended_info"] != "entity_not_found")


# -- the properties ------------------------------------------------------------------------------


@given(endpoint=st.sampled_from(BODY_ENDPOINTS), body=json_values)
def test_any_json_value_as_body(service, endpoint, body):
    check_body_answer(service, endpoint, body)


@given(endpoint=st.sampled_from(BODY_ENDPOINTS), body=shapes)
def test_known_keys_with_any_values(service, endpoint, body):
    check_body_answer(service, endpoint, body)


@given(data=st.data(), endpoint=st.sampled_from(BODY_ENDPOINTS))
def test_valid_bodies_with_things_broken(service, data, endpoint):
    check_body_answer(service, endpoint, data.draw(mutated(VALID_BODIES[endpoint])))


def _not_json_objects():
    valid = st.sampled_from(BODY_ENDPOINTS).flatmap(lambda endpoint: VALID_BODIES[endpoint]).map(json.dumps)
    return st.one_of(
        st.binary(max_size=40),
        valid.flatmap(lambda text: st.integers(0, len(text) - 1).map(lambda end: text[:end].encode())),  # cut short
        valid.map(lambda text: b"\xef\xbb\xbf" + text.encode()),  # a byte-order mark
        valid.map(lambda text: text.encode("utf-16")),
        valid.map(lambda text: (text + "x").encode()),
        valid.map(lambda text: text.replace("[", "[NaN, ", 1).encode()),
        valid.map(lambda text: text.replace("}", ', "x": Infinity}', 1).encode()),
        valid.map(lambda text: text.replace("{", '{"x": "\\ud800\udc00", ', 1).encode("utf-8", "surrogatepass")),
        json_values.filter(lambda value: not isinstance(value, dict)).map(lambda value: json.dumps(value).encode()),
    )


def _is_json_object(raw):
    try:
        return isinstance(json.loads(raw.decode("utf-8")), dict)
    except ValueError:
        return False


@given(endpoint=st.sampled_from(BODY_ENDPOINTS), raw=_not_json_objects())
def test_bodies_that_are_not_json_objects(service, endpoint, raw):
    assume(not _is_json_object(raw))
    method, path = endpoint
    response = service.request(method, path, data=raw, content_type="application/json")
    assert (response.status_code, response.get_json()) == (400, {"error": WRONG_JSON})


query_values = (
    st.from_regex("[0-9]{1,28}", fullmatch=True)
    | st.sampled_from(
        [
            "0",
            "1",
            "01",
            "1000",
            "1001",
            str(INT64_MAX),
            str(INT64_MAX + 1),
            "asc",
            "desc",
            "ASC",
            "forward_number",
            "link_id",
            "",
            " 1",
            "1.0",
            "-1",
            "+1",
            "\u0661",
        ]
    )
    | st.text(max_size=10)
)
query_pairs = st.lists(st.tuples(st.sampled_from(PARAMETERS) | st.text(max_size=6), query_values), max_size=6)


@given(path=st.sampled_from(sorted(QUERIES)), pairs=query_pairs)
def test_list_queries(service, path, pairs):
    response = service.request("GET", path, query_string=urllib.parse.urlencode(pairs))
    expected = query_error(path, pairs)
    if expected is not None:
        assert (response.status_code, response.get_json()) == (400, {"error": expected})
        return
    assert response.status_code == 200
    first = dict(reversed(pairs))
    option = response.get_json()["list_option"]
    assert option["pagination"]["items_limit"] == int(first.get("limit", 10))
    assert option["pagination"]["current_page"] == int(first.get("page_number", 1))
    assert option["sort"]["asc"] == (first.get("sort_type") != "desc")


raw_query_text = st.text(string.ascii_letters + string.digits + "%&=+;# \u00e9", max_size=12)


@given(
    path=st.sampled_from(sorted(QUERIES)),
    pairs=st.lists(st.tuples(st.sampled_from(PARAMETERS) | raw_query_text, raw_query_text), max_size=4),
)
def test_raw_query_strings(service, path, pairs):
    # Written by hand, not encoded: stray `%`, `&`, `=` and `+`, as a careless client sends them.
    service.request("GET", path, query_string="&".join(f"{name}={value}" for name, value in pairs))


segments = st.text(st.characters(exclude_characters="/"), min_size=1, max_size=25)


@given(segment=segments | st.from_regex("[0-9]{1,21}", fullmatch=True))
def test_forward_uid_paths(service, segment):
    # A path is bytes on the wire: a lone surrogate goes as the bytes UTF-8 would give it.
    path = "/api/v1/forward/item/" + urllib.parse.quote(segment.encode("utf-8", "surrogatepass"), safe="")
    response = service.request("POST", path, data=json.dumps({"forward_entity_list": []}))
    expected = forward_uid_error(segment)
    if expected is None:
        assert (response.status_code, response.get_json()) == (200, {})
    else:
        assert (response.status_code, response.get_json()) == (400, {"error": expected})


KNOWN_PATHS = ["/api/info", LOGIN, LINK_ITEMS, ITEMS, ITEM]
paths = st.one_of(
    st.sampled_from(KNOWN_PATHS),
    st.tuples(st.sampled_from(KNOWN_PATHS), st.sampled_from(["/", "//", "/..", "/101", "?", "%00"]) | texts).map(
        "".join
    ),
    st.lists(
        st.sampled_from(["api", "v1", "forward", "items", "item", "link", "login", "info", "101", ""]) | texts,
        max_size=5,
    ).map(lambda segments: "/" + "/".join(segments)),
)
# Not HEAD: its answers have no body to check.
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])


@given(method=methods, path=paths, body=json_values)
def test_any_method_and_path(service, method, path, body):
    # The path as a WSGI server hands it over: the request's bytes, undecoded, as Latin-1.
    raw = path.encode("utf-8", "surrogatepass").decode("latin-1")
    response = service.request(method, "/", data=json.dumps(body), environ_overrides={"PATH_INFO": raw})
    assert response.status_code in (200, 400, 401, 404, 405)


login_values = st.sampled_from(["admin", "ADMIN", "", MD5_123456, MD5_123456.upper(), "123456"]) | st.text(max_size=10)
login_pairs = st.tuples(
    st.lists(st.tuples(st.sampled_from(["username", "password"]), login_values), max_size=4),
    st.lists(st.tuples(st.text(max_size=6), login_values), max_size=2),
).flatmap(lambda parts: st.permutations(parts[0] + parts[1]))


@given(pairs=login_pairs)
def test_login_queries(service, pairs):
    response = service.request("GET", LOGIN, headers={}, query_string=urllib.parse.urlencode(pairs))
    first = dict(reversed(pairs))
    username, password = first.get("username"), first.get("password")
    if not username or not password:
        assert (response.status_code, response.get_json()) == (400, {"error": PARAMETERS_MISSED})
    elif username == "admin" and password.lower() == MD5_123456:
        assert response.status_code == 200 and response.get_json()["account_type"] == "admin"
    else:
        assert (response.status_code, response.get_json()) == (400, {"error": WRONG_LOGIN})


header_text = st.text(st.characters(max_codepoint=255, exclude_characters="\r\n\x00"), max_size=30)
authorizations = st.one_of(
    header_text,
    st.sampled_from(["Bearer ", "bearer ", "BEARER ", "Basic ", "basic ", "Digest ", ""]).flatmap(
        lambda scheme: st.one_of(
            header_text.map(lambda text: scheme + text),
            st.binary(max_size=30).map(lambda raw: scheme + base64.b64encode(raw).decode()),
            st.sampled_from(["admin:12345", "admin:", ":123456", "admin:123456 ", "Admin:123456"]).map(
                lambda pair: scheme + base64.b64encode(pair.encode()).decode()
            ),
        )
    ),
)


@given(authorization=authorizations, endpoint=st.sampled_from(BODY_ENDPOINTS + [("GET", path) for path in QUERIES]))
def test_wrong_authorization_headers(service, authorization, endpoint):
    method, path = endpoint
    response = service.request(method, path, headers={"Authorization": authorization}, data="{}")
    assert (response.status_code, response.get_json()) == (401, {"error": "Log In"})
