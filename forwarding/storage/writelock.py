"""One writer at a time, and the next one let in soon after: a lock file beside the database.

Every write transaction (database.py) first takes an exclusive flock(2) on this file, then
SQLite's own write lock, which is then free. SQLite's busy handler sleeps for milliseconds between
tries, many times longer than a commit here: writers would sleep beside a free lock. A waiter here
tries again after 50 us, doubling up to 1 ms (docs/performance.md). The kernel releases the lock
of a process that dies, so a killed worker never leaves it held.
"""

import contextlib
import errno
import fcntl
import os
import sqlite3
import stat
import time

FIRST_PAUSE = 50e-6
LONGEST_PAUSE = 1e-3


def open_lock_file(path, owner_of):
    """The file descriptor of the lock file at `path`, made if missing. It takes the mode of the
    file `owner_of` (the database), never readable by others, whatever the umask; made by root, it
    takes its owner too, as SQLite's -wal and -shm do, so that an operator's command run as root
    leaves nothing the service's own user cannot open."""
    # Read-only: flock needs no more. Never through a symbolic link, nor onto anything but a
    # file of its own: the directory is the service user's, and a root command would
    # otherwise change the mode and the owner of whatever such a link or hard link names.
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    owner, lock = os.stat(owner_of), os.fstat(fd)
    if not stat.S_ISREG(lock.st_mode) or lock.st_nlink != 1:
        os.close(fd)
        raise OSError(errno.EPERM, "not a regular file of its own", path)
    mode = stat.S_IMODE(owner.st_mode) & 0o660
    # Both best effort, as in SQLite: what a file system or a root without the right to give
    # files away refuses, the file keeps.
    if lock.st_uid == os.geteuid() and stat.S_IMODE(lock.st_mode) != mode:
        with contextlib.suppress(OSError):
            os.fchmod(fd, mode)
    if os.geteuid() == 0 and lock.st_uid != owner.st_uid:
        with contextlib.suppress(OSError):
            os.fchown(fd, owner.st_uid, owner.st_gid)
    return fd


class WriteLock:
    def __init__(self, path, owner_of):
        """The lock file at `path` (open_lock_file)."""
        self._fd = open_lock_file(path, owner_of)

    def acquire(self, timeout):
        """Take the lock, waiting at most `timeout` seconds; past that, fail as SQLite would."""
        deadline = None
        pause = FIRST_PAUSE
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            now = time.monotonic()
            if deadline is None:
                deadline = now + timeout
            elif now >= deadline:
                raise sqlite3.OperationalError("database is locked")
            time.sleep(min(pause, deadline - now))
            pause = min(pause * 2, LONGEST_PAUSE)

    def release(self):
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self):
        os.close(self._fd)
