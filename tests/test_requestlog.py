import io
import json
import logging
import re
import time

import pytest

from forwarding import requestlog
from forwarding.factory import create_app
from forwarding.storage import Rules
from tests.helpers import MD5_123456, basic, bearer, local, log_in

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def request_lines(caplog):
    """The request log's records so far, as a function."""
    caplog.set_level(logging.INFO, logger="forwarding.requests")
    return lambda: [record for record in caplog.records if record.name == "forwarding.requests"]


def test_one_line_per_request_with_the_id_sent(client, request_lines):
    response = client.get("/api/info?x=1", headers={"X-Request-ID": "support-42.a_b"})
    assert response.headers["X-Request-ID"] == "support-42.a_b"
    [record] = request_lines()
    assert record.levelname == "INFO"
    fields = record.request
    assert list(fields) == ["request_id", "method", "path", "status", "duration_ms"]
    assert fields["request_id"] == "support-42.a_b"
    assert (fields["method"], fields["path"], fields["status"]) == ("GET", "/api/info", 200)
    assert isinstance(fields["duration_ms"], float) and fields["duration_ms"] >= 0
    assert record.getMessage() == f"GET /api/info 200 {fields['duration_ms']:.1f}ms request_id=support-42.a_b"


def test_an_id_is_made_when_none_is_sent(client, request_lines):
    first = client.get("/api/info").headers["X-Request-ID"]
    second = client.get("/api/info").headers["X-Request-ID"]
    assert GENERATED_ID.fullmatch(first) and GENERATED_ID.fullmatch(second) and first != second
    assert [record.request["request_id"] for record in request_lines()] == [first, second]


@pytest.mark.parametrize(
    "sent, kept",
    [
        ("a" * 70, "a" * 64),
        ("abc/def ghi;{x}", "abcdefghix"),
        ("ünïcode-1", "ncode-1"),
    ],
)
def test_the_id_sent_is_cleaned(client, request_lines, sent, kept):
    assert client.get("/api/info", headers={"X-Request-ID": sent}).headers["X-Request-ID"] == kept
    assert request_lines()[0].request["request_id"] == kept


def test_an_id_with_nothing_usable_is_replaced(client):
    assert GENERATED_ID.fullmatch(client.get("/api/info", headers={"X-Request-ID": "!!! ???"}).headers["X-Request-ID"])


def test_no_secrets_in_the_log(client, caplog, request_lines):
    token = log_in(client).get_json()["token"]
    client.get("/api/v1/forward/items", headers=bearer(token))
    client.get("/api/v1/forward/items", headers=basic("admin", "123456"))
    assert [(r.request["path"], r.request["status"]) for r in request_lines()] == [
        ("/api/v1/login", 200),
        ("/api/v1/forward/items", 200),
        ("/api/v1/forward/items", 200),
    ]
    secrets = [MD5_123456, token, "123456", basic("admin", "123456")["Authorization"].split()[1]]
    assert not [secret for secret in secrets if secret in caplog.text]


@pytest.mark.parametrize(
    "path", ["/api/v1/login%3Fusername=admin&password=", "/API/V1/LOGIN/?password=", "/api/v1/login."]
)
def test_a_path_that_starts_like_the_logins_is_masked(client, caplog, request_lines, path):
    assert client.get(path + MD5_123456).status_code == 404
    assert request_lines()[0].request["path"] == "/api/v1/login[masked]"
    assert MD5_123456 not in caplog.text


def test_control_characters_in_the_path_are_encoded(client, request_lines):
    client.post("/api/v1/forward/item/1%0A2%20x", data="{}")
    assert request_lines()[0].request["path"] == "/api/v1/forward/item/1%0A2%20x"


def test_error_answers_are_logged(client, request_lines, monkeypatch):
    client.get("/api/v1/forward/items")  # no credentials
    client.get("/api/nothing")
    client.put("/api/info")
    client.post("/api/v1/forward/items/link", data="[", headers=basic("admin", "123456"))

    def fail(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Rules, "page", fail)
    response = client.get("/api/v1/forward/items", headers={**basic("admin", "123456"), "X-Request-ID": "r500"})
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "r500"
    assert [(r.request["method"], r.request["path"], r.request["status"]) for r in request_lines()] == [
        ("GET", "/api/v1/forward/items", 401),
        ("GET", "/api/nothing", 404),
        ("PUT", "/api/info", 405),
        ("POST", "/api/v1/forward/items/link", 400),
        ("GET", "/api/v1/forward/items", 500),
    ]


def test_too_large_is_logged(db_path, request_lines):
    client = create_app({"TESTING": True, "DATABASE": db_path, "MAX_CONTENT_LENGTH": 10}).test_client()
    response = client.post("/api/v1/forward/items/link", data="x" * 11, headers=basic("admin", "123456"))
    assert response.status_code == 413 and GENERATED_ID.fullmatch(response.headers["X-Request-ID"])
    assert request_lines()[0].request["status"] == 413


def test_json_lines(client, request_lines):
    client.delete(
        "/api/v1/forward/items",
        json={"uid_items": [5]},
        headers={
            **basic("admin", "123456"),
            "X-Request-ID": "j1",
        },
    )
    [record] = request_lines()
    line = json.loads(requestlog.JsonFormatter().format(record))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line.pop("time"))
    duration = line.pop("duration_ms")
    assert line == {
        "level": "INFO",
        "logger": "forwarding.requests",
        "message": f"DELETE /api/v1/forward/items 200 {duration:.1f}ms request_id=j1",
        "request_id": "j1",
        "method": "DELETE",
        "path": "/api/v1/forward/items",
        "status": 200,
    }


def test_the_format_setting_picks_the_handler(capsys):
    # A logger of its own, with no parent: as the app's logger is when logging is not configured.
    logger = logging.Logger("alone")
    requestlog.use_format(logger, "json")
    requestlog.use_format(logger, "json")  # an app made again replaces the handler, adds none
    assert len(logger.handlers) == 1
    logger.warning("factory password in use")
    line = json.loads(capsys.readouterr().err)
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "alone", "factory password in use")
    requestlog.use_format(logger, "text")
    logger.warning("now in text")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING alone: now in text\n", capsys.readouterr().err)


def test_configured_logging_is_left_alone():
    parent = logging.Logger("configured")
    parent.addHandler(logging.NullHandler())
    logger = logging.Logger("configured.app")
    logger.parent = parent
    requestlog.use_format(logger, "json")
    assert logger.handlers == []


def test_an_unknown_format_is_refused(db_path):
    with pytest.raises(ValueError, match="FORWARDING_LOG_FORMAT must be one of text, json, not 'xml'"):
        create_app({"TESTING": True, "DATABASE": db_path, "LOG_FORMAT": "xml"})


FORGED = "\n2026-12-03 10:00:00,000 WARNING forwarding: forged\x1b]0;title\x07\x1b[2J\x7f\x85\u2028"
FORGED_ESCAPED = r"\n2026-12-03 10:00:00,000 WARNING forwarding: forged\x1b]0;title\x07\x1b[2J\x7f\x85\u2028"


def test_what_a_client_sends_is_escaped_in_the_request_line(client, request_lines):
    # As uWSGI's HTTP parser passes them: a method and an address with a newline, an id with escapes.
    client.open(
        "/api/info%0A2026-12-03%20x%1B[2J",
        method="GET" + FORGED,
        environ_base={"REMOTE_ADDR": "10.0.0.1" + FORGED, "HTTP_X_REQUEST_ID": "r1" + FORGED},
    )
    [record] = request_lines()
    fields = record.request
    assert (fields["method"], fields["path"], fields["request_id"]) == (
        r"GET\n2026-12-03 10:00:00,000 WARNING FORWARDING: FORGED\x1b]0;TITLE\x07\x1b[2J\x7f\x85\u2028",
        "/api/info%0A2026-12-03%20x%1B%5B2J",
        "r12026-12-03100000000WARNINGforwardingforged0title2J",
    )
    text = requestlog.TEXT_FORMATTER.format(record)
    time, rest = text.split(" INFO ", 1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", time)
    assert rest == (
        r"forwarding.requests: GET\n2026-12-03 10:00:00,000 WARNING FORWARDING: FORGED\x1b]0;TITLE\x07\x1b[2J"
        rf"\x7f\x85\u2028 /api/info%0A2026-12-03%20x%1B%5B2J 404 {fields['duration_ms']:.1f}ms"
        " request_id=r12026-12-03100000000WARNINGforwardingforged0title2J"
    )
    line = requestlog.JsonFormatter().format(record)
    assert line.isprintable() and line.isascii()
    assert json.loads(line)["method"] == fields["method"]


@pytest.mark.parametrize("formatter", [requestlog.TEXT_FORMATTER, requestlog.JsonFormatter()])
def test_every_record_is_one_printable_line(formatter):
    # A username, an address: whatever a message quotes.
    record = logging.LogRecord("forwarding", logging.WARNING, __file__, 1, "attempt for %s", ("adm" + FORGED,), None)
    line = formatter.format(record)

    assert line.isprintable()
    message = json.loads(line)["message"] if line.startswith("{") else line.split(": ", 1)[1]
    assert message == "attempt for adm" + FORGED_ESCAPED


@pytest.fixture
def service_log(make_app, monkeypatch):
    """`write(log_format, path, **kwargs)`: what the service writes to the WSGI error stream for one
    GET (`kwargs` go to the test client), with logging not configured (under pytest, the root logger
    has handlers: they are set aside).
    The time stands still at 1,796,292,904.125 s, and a request takes no time."""
    monkeypatch.setattr(time, "time", lambda: 1_796_292_904.125)
    monkeypatch.setattr(time, "perf_counter", lambda: 5.0)

    def write(log_format, path, **kwargs):
        monkeypatch.setattr(logging.getLogger(), "handlers", [])  # pytest's, added as the test starts
        app = make_app(LOG_FORMAT=log_format)
        stream = io.StringIO()
        app.test_client().get(path, errors_stream=stream, **kwargs)
        return stream.getvalue()

    return write


@pytest.mark.parametrize("straight", [True, False], ids=["straight to the handler", "through logging"])
def test_the_line_written_for_a_request(service_log, monkeypatch, straight):
    if straight:  # the line cannot come through the logging module
        monkeypatch.setattr(logging.Logger, "info", lambda *args, **kwargs: None)
    else:
        monkeypatch.setattr(requestlog, "_sole_handler", lambda logger: None)
    headers = {"X-Request-ID": "t1", "Authorization": "Bearer secret"}
    assert service_log("text", "/api/info%0A?password=x", headers=headers) == (
        f"{local(1_796_292_904)[:19]},125 INFO forwarding.requests: GET /api/info%0A 404 0.0ms request_id=t1\n"
    )
    assert json.loads(service_log("json", "/api/info", headers=headers)) == {
        "time": "2026-12-03T10:15:04.125+00:00",
        "level": "INFO",
        "logger": "forwarding.requests",
        "message": "GET /api/info 200 0.0ms request_id=t1",
        "request_id": "t1",
        "method": "GET",
        "path": "/api/info",
        "status": 200,
        "duration_ms": 0.0,
    }


def test_a_filter_on_the_request_log_is_honoured(service_log, monkeypatch):
    monkeypatch.setattr(logging.getLogger("forwarding.requests"), "filters", [lambda record: False])
    assert service_log("text", "/api/info") == ""
