"""deploy/nginx*.conf: HSTS on every answer over HTTPS. nginx gives a location that has an
`add_header` of its own none of the server's, so each such location repeats HSTS; the
end-to-end tests (tests/e2e/test_e2e_tls_settings.py) see the answers themselves."""

import re
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
HSTS = "add_header Strict-Transport-Security $forwarding_hsts always;"
# A location's block, to the first line that closes one (its return strings hold braces).
LOCATION = re.compile(r"^ *location [^\n]*\{\n(.*?)^ *\}$", re.MULTILINE | re.DOTALL)


def test_the_server_sends_hsts_and_so_does_each_location_with_headers_of_its_own():
    server = (DEPLOY / "nginx-server.conf").read_text()
    with_headers = [block for block in LOCATION.findall(server) if "add_header" in block]

    assert server.count(HSTS) == 1 + len(with_headers)
    assert [block for block in with_headers if HSTS not in block] == []
    assert len(with_headers) == 1  # the 429's, with its Retry-After


def test_hsts_is_sent_over_https_only():
    assert re.search(
        r'map \$https \$forwarding_hsts \{\s+on\s+"max-age=63072000";\s+default\s+"";\s+\}',
        (DEPLOY / "nginx.conf").read_text(),
    )
