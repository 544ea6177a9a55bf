import shutil
import time

import pytest

from forwarding import create_app, credentials
from forwarding.repository import Repository

from helpers import basic


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    """A database as the first start leaves it, made once: the first start hashes the factory
    password with the deliberately slow hash, which would cost every test a noticeable pause."""
    path = tmp_path_factory.mktemp("template") / "forwarding.db"
    create_app({"TESTING": True, "DATABASE": str(path)})
    return path


@pytest.fixture
def db_path(tmp_path, template_db):
    path = tmp_path / "forwarding.db"
    shutil.copyfile(template_db, path)
    return str(path)


@pytest.fixture
def app(db_path):
    return create_app({"TESTING": True, "DATABASE": db_path})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def repo(db_path):
    """A connection of the test's own to the app's database file, to check what is stored."""
    repo = Repository.connect(db_path)
    yield repo
    repo.close()


@pytest.fixture
def token(repo):
    """A valid token, stored as the login stores it (the login itself is tested on its own; going
    through it here would cost every test a slow password check)."""
    token = credentials.new_token()
    now = time.time()
    repo.add_token(credentials.token_digest(token), now + 3600, now)
    return token


@pytest.fixture
def auth(token):
    """Headers that authenticate with a fresh login token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def basic_auth():
    """Headers that authenticate with HTTP Basic and the factory credentials."""
    return basic("admin", "123456")
