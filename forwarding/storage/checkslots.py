"""At most a few password checks at once in the whole service, whichever worker runs them: slot
files beside the database, `<database>-hash-0` up to `-hash-<count - 1>`.

A password check is a slow hash, a tenth of a second of a core, on purpose. Each check holds one
slot file with an exclusive flock(2) while it runs; when every slot is held, the attempt is refused
unchecked (auth.py) rather than left waiting: a worker that waits is a worker a flood holds. The
files are made as the writers' lock file is (writelock.py), and the kernel releases the lock of a
process that dies, so a killed worker never keeps a slot.
"""

import fcntl
import os
import weakref
from contextlib import contextmanager

from .writelock import open_lock_file

SUFFIX = "-hash-"


def _close(fds):
    for fd in fds:
        os.close(fd)


class CheckSlots:
    """The `count` slot files of the database at `database_path`, opened for one thread: the locks
    of two descriptors exclude each other, those taken through one do not."""

    def __init__(self, database_path, count):
        fds = []
        try:
            for number in range(count):
                fds.append(open_lock_file(f"{database_path}{SUFFIX}{number}", owner_of=database_path))
        except OSError:
            _close(fds)
            raise
        self._fds = fds
        # Dropped with the thread that kept them (db.py), as a connection is.
        self._closer = weakref.finalize(self, _close, fds)

    @contextmanager
    def one(self):
        """Holds a free slot while the block runs and yields True; yields False when every slot is held."""
        for fd in self._fds:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            return
        yield False

    def close(self):
        self._closer()
