"""nginx's own answers (deploy/nginx*.conf) say what messages.py says: each status nginx makes
goes to an error page whose JSON carries the service's string for it (docs/api.md, section 8).
The end-to-end tests (tests/e2e) see the answers themselves."""

import json
import re
from pathlib import Path

from forwarding import messages

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
ERROR_PAGE = re.compile(r"^\s*error_page ([\d ]+?) (?:=(\d{3}) )?(\S+);", re.MULTILINE)
# A location and the first `return` in it, nested locations apart.
PAGE = re.compile(r"location (?:= )?([/@]\S*) \{[^{}]*?return \d{3} '(.*)\\n';")

# Every status nginx itself makes, in this configuration: the status the client gets, and the message.
EXPECTED = {
    400: (400, messages.BAD_REQUEST),
    494: (400, messages.BAD_REQUEST),  # request headers too large
    497: (400, messages.BAD_REQUEST),  # plain HTTP on the HTTPS port
    505: (400, messages.BAD_REQUEST),  # an HTTP version nginx does not speak
    404: (404, messages.NOT_FOUND),
    405: (405, messages.METHOD_NOT_ALLOWED),
    413: (413, messages.TOO_LARGE),
    414: (414, messages.URI_TOO_LONG),
    429: (429, messages.TOO_MANY_REQUESTS),
    500: (500, messages.INTERNAL),
    501: (501, messages.NOT_IMPLEMENTED),
    502: (502, messages.INTERNAL),
    503: (503, messages.INTERNAL),
    504: (504, messages.INTERNAL),
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
