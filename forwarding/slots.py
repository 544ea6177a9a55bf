"""At most `count` of something at once across every worker process: slot files beside the database.

Slot n is the file `<prefix>.<n>`, taken with a non-blocking exclusive flock(2). A worker that finds
every slot taken is refused at once instead of queueing, so no number of such requests can hold
more than `count` workers; the kernel frees the slot of a process that dies. Each take opens its
own descriptor: flock is per open file, so two threads of one process never share a slot.
"""

import fcntl
import os
from contextlib import contextmanager

from .storage.writelock import open_lock_file


def of_app(app, suffix, setting):
    """The app's slots beside its database, `<database><suffix>.<n>`, as many as its setting
    `setting` says: made on first use and kept."""
    key = f"forwarding.slots{suffix}"
    slots = app.extensions.get(key)
    if slots is None:
        path = app.config["DATABASE"]
        slots = app.extensions[key] = Slots(path + suffix, app.config[setting], owner_of=path)
    return slots


class Slots:
    def __init__(self, path_prefix, count, owner_of):
        """`count` slot files named `path_prefix` and a number, made when first tried with the mode
        and owner of the file `owner_of` (the database), as the write lock file is."""
        self.paths = [f"{path_prefix}.{n}" for n in range(count)]
        self.owner_of = owner_of

    @contextmanager
    def try_take(self):
        """Yields True while holding a free slot, or False at once when every slot is taken."""
        for path in self.paths:
            fd = open_lock_file(path, self.owner_of)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield True
            finally:
                os.close(fd)  # closing the only descriptor of this open file releases its lock
            return
        yield False
