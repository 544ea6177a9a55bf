"""nginx's own answers (deploy/nginx*.conf) say what the service says: each status nginx makes
goes to an error page whose JSON carries the service's string for it (docs/api.md, section 8).
The end-to-end tests (tests/e2e) see the answers themselves."""

import json
import re
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
ERROR_PAGE = re.compile(r"^\s*error_page ([\d ]+?) (?:=(\d{3}) )?(\S+);", re.MULTILINE)
# A location and the first `return` in it, nested locations apart.
PAGE = re.compile(r"location (?:= )?([/@]\S*) \{[^{}]*?return \d{3} '(.*)\\n';")

# Every status nginx itself makes, in this configuration: the status the client gets, and the message
# (written out, as docs/api.md section 8 gives them, not taken from the service's code).
EXPECTED = {
    400: (400, "Bad request"),
    494: (400, "Bad request"),  # request headers too large
    497: (400, "Bad request"),  # plain HTTP on the HTTPS port
    505: (400, "Bad request"),  # an HTTP version nginx does not speak
    404: (404, "Not found"),
    405: (405, "Method not allowed"),
    413: (413, "Request body too large"),
    414: (414, "Request URI too long"),
    429: (429, "Too many requests"),
    500: (500, "Internal server error"),
    501: (501, "Not implemented"),
    502: (502, "Internal server error"),
    503: (503, "Internal server error"),
    504: (504, "Internal server error"),
}


def configuration():
    return "\n".join(path.read_text() for path in sorted(DEPLOY.glob("nginx*.conf")))


def test_each_status_nginx_makes_has_a_page_with_the_services_string():
    text = configuration()
    pages = {name: json.loads(body) for name, body in PAGE.findall(text)}

    answers = {
        int(status): (int(new_status or status), pages[page])
        for statuses, new_status, page in ERROR_PAGE.findall(text)
        for status in statuses.split()
    }

    assert answers == {status: (sent, {"error": message}) for status, (sent, message) in EXPECTED.items()}
