"""Every failure becomes the panel's error JSON: `{"error": "<message>"}`, never an HTML page."""

from flask import current_app
from werkzeug.exceptions import HTTPException

from . import messages

# Flask's and Werkzeug's own errors, by status, in the panel's words.
_HTTP_MESSAGES = {
    400: messages.WRONG_JSON,
    401: messages.LOG_IN,
    404: messages.NOT_FOUND,
    405: messages.METHOD_NOT_ALLOWED,
    413: messages.TOO_LARGE,
}


class ApiError(Exception):
    """A request the API answers with an error (docs/api.md); raise it anywhere in a view."""

    def __init__(self, message, status=400, headers=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = headers


def allow(methods):
    """The `Allow` header's value, sorted: Werkzeug keeps the methods in a set, whose order changes
    from one process to the next."""
    return ", ".join(sorted(methods))


def error_response(message, status, headers=None):
    return {"error": message}, status, headers or {}


def register(bp):
    @bp.app_errorhandler(ApiError)
    def api_error(error):
        return error_response(error.message, error.status, error.headers)

    @bp.app_errorhandler(HTTPException)
    def http_error(error):
        message = _HTTP_MESSAGES.get(error.code)
        if message is None:
            message = messages.INTERNAL if error.code >= 500 else error.name
        # A 405 says which methods would do.
        headers = {"Allow": allow(error.valid_methods)} if getattr(error, "valid_methods", None) else None
        return error_response(message, error.code, headers)

    @bp.app_errorhandler(Exception)
    def unexpected_error(error):
        current_app.logger.exception("unhandled error")
        return error_response(messages.INTERNAL, 500)
