"""One log line per request, and the format of the service's log.

Each request is logged when its answer is ready, errors included: method, path, status, duration
and a request id. The id is the client's `X-Request-ID` (cleaned to at most 64 of
`A-Za-z0-9._-`) or a new one, and is sent back in the answer's `X-Request-ID`, so a support
engineer can find the line of the request a client complains about.

No secrets: the path is logged without its query string (the login's `password` parameter is as
good as the password), and no header is logged. Plain text by default; `LOG_FORMAT = "json"` makes
every line of the service's log a JSON object (JSON lines).

One record, one line: every character of a message that is not printable (newlines, C0 and C1
controls, DEL, the escape that starts a terminal's sequence) is written as its escape, `\\n`,
`\\x1b`, so what a client sends (a method, a username, an address) forges no line and reaches no
terminal. A backslash is left as it is: a value the service quotes with `repr` is not escaped twice.
"""

import json
import logging
import os
import re
import time
from datetime import UTC, datetime
from urllib.parse import quote

from flask import g, request
from flask.logging import default_handler, has_level_handler, wsgi_errors_stream

from . import clientaddress

try:
    import uwsgi
except ImportError:  # not under uWSGI: the tests, the command line
    uwsgi = None

HEADER = "X-Request-ID"
FORMATS = ("text", "json")

_NOT_IN_ID = re.compile(r"[^A-Za-z0-9._-]")
_MAX_ID = 64
_LOGIN = "/api/v1/login"


def request_id(sent):
    """The id of a request: what the client sent, cleaned, or a new one when nothing is left."""
    return _NOT_IN_ID.sub("", sent or "")[:_MAX_ID] or os.urandom(16).hex()


def printable(text):
    """`text` with each character that is not printable as its escape (`\\n`, `\\x1b`, `\\x85`, `\\u2028`)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)


def logged_path(path):
    """`path` percent-encoded (no line breaks or control characters). A path that starts like the
    login's but is not it (`/api/v1/login%3Fusername=...&password=...`) may carry a password: masked."""
    if path != _LOGIN and path.lower().startswith(_LOGIN):
        return _LOGIN + "[masked]"
    return quote(path)


class JsonFormatter(logging.Formatter):
    """One JSON object per record; a request's line carries its fields as keys of their own."""

    def format(self, record):
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": printable(record.getMessage()),
            **getattr(record, "request", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`, the message escaped (a traceback follows on lines of its own)."""

    _second = (None, "")  # the last second formatted, and its text: one tuple, swapped whole

    def formatTime(self, record, datefmt=None):
        # strftime is a good part of a line's cost, and a busy second has many lines.
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second, text = self._second
        if second != int(record.created):
            second = int(record.created)
            text = time.strftime(self.default_time_format, self.converter(second))
            self._second = (second, text)
        return self.default_msec_format % (text, record.msecs)

    def formatMessage(self, record):
        record.message = printable(record.message)
        return super().formatMessage(record)


TEXT_FORMATTER = TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


class _Handler(logging.StreamHandler):
    """The service's own handler: stderr, or the WSGI server's error stream during a request."""

    def emit(self, record):
        # StreamHandler.emit resolves the stream, a proxy to the request's, four times per line.
        try:
            stream = self.stream._get_current_object()
            stream.write(self.format(record) + self.terminator)
            stream.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def use_format(logger, log_format):
    """Log `logger`'s records in `log_format` ("text" or "json"), unless logging is configured.

    As Flask does with its default handler (which this replaces), a handler is added only when
    nothing else would handle the records, so an operator's own logging setup is left alone.
    """
    if log_format not in FORMATS:
        raise ValueError(f"FORWARDING_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    for handler in [h for h in logger.handlers if h is default_handler or isinstance(h, _Handler)]:
        logger.removeHandler(handler)  # Flask's, or ours from an app made earlier in this process
    if not has_level_handler(logger):
        handler = _Handler(wsgi_errors_stream)
        handler.setFormatter(JsonFormatter() if log_format == "json" else TEXT_FORMATTER)
        logger.addHandler(handler)


def _cleaned_environ(wsgi_app):
    """`wsgi_app` with REMOTE_ADDR parsed before Flask reads it, so the throttle and the logs see the
    parsed address; uWSGI's own log lines (wsgi.ini) get it and the method escaped, as logvars."""

    def app(environ, start_response):
        environ["REMOTE_ADDR"] = address = clientaddress.parse(environ.get("REMOTE_ADDR"))
        if uwsgi is not None:
            uwsgi.set_logvar("client_address", address)
            uwsgi.set_logvar("client_method", printable(environ.get("REQUEST_METHOD", "")))
        return wsgi_app(environ, start_response)

    return app


def init_app(app):
    use_format(app.logger, app.config["LOG_FORMAT"])
    app.wsgi_app = _cleaned_environ(app.wsgi_app)
    logger = app.logger.getChild("requests")

    @app.before_request
    def start():
        g.request_id = request_id(request.headers.get(HEADER))
        g.request_started = time.perf_counter()

    @app.after_request
    def log(response):
        response.headers[HEADER] = g.request_id
        fields = {
            "request_id": g.request_id,
            "method": printable(request.method),
            "path": logged_path(request.path),
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1),
        }
        handler = _sole_handler(logger)
        if handler is None:
            logger.info(_MESSAGE, fields, extra={"request": fields})
        else:
            record = logging.getLogRecordFactory()(
                logger.name, logging.INFO, __file__, 0, _MESSAGE, (fields,), None, "log"
            )
            record.request = fields
            handler.handle(record)
        return response


_MESSAGE = "%(method)s %(path)s %(status)s %(duration_ms).1fms request_id=%(request_id)s"


def _sole_handler(logger):
    """The service's own handler, when it is the one handler that `logger`'s INFO records reach and
    nothing filters them; else None. The record is then handed to it straight: the logging
    module's search for the caller and for the handlers is a good part of a short request's line."""
    if not logger.isEnabledFor(logging.INFO) or logger.filters:
        return None
    handlers, current = [], logger
    while current is not None:
        handlers += current.handlers
        current = current.parent if current.propagate else None
    if len(handlers) != 1 or not isinstance(handlers[0], _Handler):
        return None
    return handlers[0] if handlers[0].level <= logging.INFO and not handlers[0].filters else None
