import pytest
from hypothesis import settings

from forwarding import create_app
from forwarding.repository import Repository

from helpers import MD5_123456, basic, quick_hash

# The property tests: the same examples on every run, for CI; `--hypothesis-profile=thorough`
# draws fresh ones, many more.
settings.register_profile("ci", max_examples=400, deadline=None, derandomize=True, database=None)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile("ci")


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "forwarding.db")


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
def quick_password_hash(app, repo):
    """The factory password hashed in one round, for tests that check it dozens of times."""
    repo.set_account("admin", quick_hash(), is_default=True)


@pytest.fixture
def token(client):
    response = client.get("/api/v1/login", query_string={"username": "admin", "password": MD5_123456})
    return response.get_json()["token"]


@pytest.fixture
def auth(token):
    """Headers that authenticate with a fresh login token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def basic_auth():
    """Headers that authenticate with HTTP Basic and the factory credentials."""
    return basic("admin", "123456")
