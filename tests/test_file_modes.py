"""The database and its side files (-wal, -shm, the writers' -writer and -writes.N, the password
checks' -hash.0) are never readable by other users, whatever the umask: made 0660, less the umask."""

import os
import stat

import pytest

from forwarding.factory import create_app
from forwarding.storage import Storage
from tests.helpers import MD5_123456, stored_rules

SIDE_FILES = ("", "-wal", "-shm", "-writer", "-writes.0", "-hash.0")  # -writes.0: the first write slot (slots.py)


@pytest.fixture
def umask():
    """Set the process's umask for the test; the old one comes back after it."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def modes(path):
    return {suffix: stat.S_IMODE(os.stat(path + suffix).st_mode) for suffix in SIDE_FILES}


@pytest.mark.parametrize("mask, mode", [(0o000, 0o660), (0o022, 0o640), (0o077, 0o600)])
def test_a_new_database_and_its_side_files_are_never_for_others(tmp_path, umask, mask, mode):
    umask(mask)
    path = str(tmp_path / "instance" / "forwarding.db")
    client = create_app({"TESTING": True, "DATABASE": path}).test_client()
    token = client.get("/api/v1/login", query_string={"username": "admin", "password": MD5_123456}).get_json()["token"]
    answer = client.post(
        "/api/v1/forward/item/7", json={"forward_entity_list": ["101"]}, headers={"Authorization": f"Bearer {token}"}
    )
    assert (answer.status_code, answer.get_json()) == (200, {})
    assert modes(path) == dict.fromkeys(SIDE_FILES, mode)  # the -wal and -shm exist while it runs
    repo = Storage(path)
    assert stored_rules(repo) == {7: (None, ["101"])}
    repo.close()


def test_a_lock_file_left_readable_by_others_is_made_private(db_path, umask):
    umask(0o000)
    os.chmod(db_path, 0o660)
    old_lock = os.open(db_path + "-writer", os.O_RDONLY | os.O_CREAT, 0o666)
    os.close(old_lock)
    assert stat.S_IMODE(os.stat(db_path + "-writer").st_mode) == 0o666  # as a service before this one made it
    Storage(db_path).close()
    assert stat.S_IMODE(os.stat(db_path + "-writer").st_mode) == 0o660


def test_an_existing_database_keeps_its_mode(db_path, umask):
    os.chmod(db_path, 0o600)
    umask(0o000)
    Storage(db_path).close()
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db_path + "-writer").st_mode) == 0o600
