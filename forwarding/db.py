"""One repository connection per request, on `g`, closed when the request ends."""

from flask import current_app, g

from .repository import Repository


def get_repo():
    if "repo" not in g:
        g.repo = Repository.connect(current_app.config["DATABASE"], current_app.config["BUSY_TIMEOUT_MS"])
    return g.repo


def close_repo(exception=None):
    repo = g.pop("repo", None)
    if repo is not None:
        repo.close()


def init_app(app):
    app.teardown_appcontext(close_repo)
