"""Fixtures: an app on a database file of the test's own, a client, a login token, and a clock."""

import os
import shutil
import time
from functools import partial

import pytest
from click.testing import CliRunner
from hypothesis import settings
from werkzeug.security import generate_password_hash

from forwarding import auth as authentication
from forwarding import cli, credentials
from forwarding.db import get_storage
from forwarding.factory import create_app
from forwarding.storage import Storage
from tests.helpers import basic, bearer, log_in

# The property tests: the same examples on every run, for CI; `--hypothesis-profile=thorough`
# draws fresh ones, many more.
settings.register_profile("ci", max_examples=400, deadline=None, derandomize=True, database=None)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def no_host_settings(monkeypatch):
    """A deployed host's own settings file is not the tests': the command reads none by default."""
    monkeypatch.setattr(cli, "DEFAULT_ENV_FILE", "/nonexistent/forwarding.env")


@pytest.fixture(scope="session")
def template(tmp_path_factory):
    """A database after its first start, and a token logged in on it: `(path, token)`.

    Each test starts from a copy, with the factory password hashed at the lowest work factor:
    the real hash is slow on purpose, and the suite checks the password hundreds of times.
    Tests that change the password get the real slow hash again.
    """
    path = tmp_path_factory.mktemp("template") / "forwarding.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(credentials, "generate_password_hash", partial(generate_password_hash, method="pbkdf2:sha256:1"))
        app = create_app({"TESTING": True, "DATABASE": str(path)})
    response = log_in(app.test_client())
    with app.app_context():
        connection = get_storage()  # kept by the app between requests
    connection.close()  # the last connection to close moves the log into the file
    assert not os.path.exists(f"{path}-wal")  # everything is in the file that is copied
    return path, response.get_json()["token"]


@pytest.fixture
def db_path(tmp_path, template):
    path = tmp_path / "forwarding.db"
    shutil.copyfile(template[0], path)
    return str(path)


@pytest.fixture
def make_app(db_path):
    """A new app instance on the test's database file (a second worker, or a restart), with
    `config` on top of the test settings."""

    def make(**config):
        return create_app({"TESTING": True, "DATABASE": db_path, **config})

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


class AppCliRunner(CliRunner):
    """Runs `forwarding` (cli.main, unless told another command) on the test's app."""

    def __init__(self, app):
        super().__init__()
        self.app = app

    def invoke(self, cli_main=None, args=None, **kwargs):
        kwargs.setdefault("obj", cli.Session(app=self.app))
        return super().invoke(cli_main or cli.main, args, **kwargs)


@pytest.fixture
def runner(app):
    return AppCliRunner(app)


@pytest.fixture
def repo(db_path):
    """A connection of the test's own to the app's database file, to check what is stored."""
    repo = Storage(db_path)
    yield repo
    repo.close()


@pytest.fixture
def token(template):
    """A login token valid on the test's database (it was logged in on the template)."""
    return template[1]


@pytest.fixture
def auth(token):
    """Headers that authenticate with a login token."""
    return bearer(token)


@pytest.fixture
def basic_auth():
    """Headers that authenticate with HTTP Basic and the factory credentials."""
    return basic("admin", "123456")


class Clock:
    """`time.time` under the test's control: it stands still until `advance` moves it."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(time.time())
    monkeypatch.setattr(time, "time", clock)
    return clock


@pytest.fixture
def checks(monkeypatch):
    """Each time a password was really checked (the slow hash run)."""
    calls = []
    digest_matches = credentials.digest_matches

    def counted(*args):
        calls.append(args)
        return digest_matches(*args)

    monkeypatch.setattr(credentials, "digest_matches", counted)
    return calls


@pytest.fixture(autouse=True)
def _verified_credentials_forgotten():
    """Each test starts with no Basic credential remembered by this process, as a fresh worker would."""
    authentication._recently_verified.clear()
