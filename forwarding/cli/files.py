"""The files a command touches: the database, opened as its owner, and the files it writes for the
operator (`export -o`).

On a deployed host the database is the service user's, in a directory that user owns, and the
operator runs commands as root. A check of the path before `sqlite3.connect` would race that
directory's owner (SQLite follows a symbolic link at the main path, and Python's sqlite3 cannot
ask it not to): so a command run as root first refuses anything at the path but a regular file,
then becomes the file's owner (for `init`, the directory's) before it opens anything. Whatever is
planted there after the check, the command can then do no more than that user could, and the
files it makes are that user's, as the service's are. A file for the operator is written by the
process that stays root, from what a child that became the owner sends it through a pipe
(`write_as_operator`).
"""

import errno
import json
import os
import pwd
import stat
import traceback

import click


class Refused(click.ClickException):
    """Bad input (a file, a password, a database that cannot be used): nothing was changed."""

    exit_code = 1


def what_it_is(mode):
    """What a file of `mode` (st_mode) is, in words."""
    kinds = (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next(name for test, name in kinds if test(mode))


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def database_file(path):
    """The database file's lstat, or None where there is nothing. Refused: anything at `path`
    but a regular file (never followed: a symbolic link is refused, not read through)."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise Refused(
            f"{path} cannot be examined by {user_name(os.geteuid())}: {error.strerror}:"
            " run the command as root or as the database's owner"
        ) from None
    if stat.S_ISLNK(found.st_mode):
        raise Refused(f"{path} is a symbolic link to {os.readlink(path)}, not a database file: not followed")
    if not stat.S_ISREG(found.st_mode):
        raise Refused(f"{path} is {what_it_is(found.st_mode)}, not a database file")
    return found


def become_owner(path, found):
    """Run as root: become the owner of the database file (`found`, its lstat), or of the
    directory that will hold it when there is none yet (`init`), unless that is root. Returns the
    uid the process now runs as."""
    if os.geteuid() != 0:
        return os.geteuid()
    directory = os.path.dirname(path)
    while not os.path.isdir(directory):  # `init` makes the directories missing, as their owner
        directory = os.path.dirname(directory)
    holder = os.stat(directory)
    if found is not None and found.st_uid == 0 and holder.st_uid != 0:
        # Made by root where the service's user keeps its files (an `init` run as root before):
        # the service cannot open it, and a command would work on it as root in that user's directory.
        owner = user_name(holder.st_uid)
        named = str(holder.st_uid) if owner.startswith("uid ") else owner
        raise Refused(
            f"{path} is root's, in a directory of {owner}, whose service cannot open it: give it to {owner}"
            f" (chown {named}: {path}*) or remove it"
        )
    uid, gid = (holder.st_uid, holder.st_gid) if found is None else (found.st_uid, found.st_gid)
    if uid != 0:
        _become(uid, gid)
    return uid


def _become(uid, gid):
    # The groups of the user, as its login would have them; a uid without a name keeps the file's group.
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        groups = [gid]
    else:
        gid = entry.pw_gid
        groups = os.getgrouplist(entry.pw_name, gid)
    os.setgroups(groups)
    os.setgid(gid)
    os.setuid(uid)


def check_readable(path):
    """As the user the command runs as: the database opens, without following a link or
    waiting on a FIFO planted since it was examined, and is a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise Refused(f"{path} is a symbolic link, not a database file: not followed") from None
        if error.errno in (errno.EACCES, errno.EPERM):
            found, uid = os.lstat(path), os.geteuid()
            mode = f"mode {stat.S_IMODE(found.st_mode):04o}"
            if found.st_uid == uid:
                raise Refused(f"{path} is not readable by its owner, {user_name(uid)} ({mode})") from None
            raise Refused(
                f"{path} is not readable by {user_name(uid)} (it is {user_name(found.st_uid)}'s, {mode}):"
                " run the command as root or as its owner"
            ) from None
        raise Refused(f"{path} cannot be opened: {error.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
    finally:
        os.close(fd)
    if not stat.S_ISREG(mode):
        raise Refused(f"{path} is {what_it_is(mode)}, not a database file")


# -- files for the operator ------------------------------------------------------------------------


def write_as_operator(path, produce, follow_symlinks=False, mode=None):
    """Replace the file at `path` with the bytes `produce(out)` writes to `out`; return what
    `produce` returns.

    The file is the operator's, written by this process as the user it runs as (root, on a
    deployed host). `produce` runs in a child process, which may open the database and so become
    its owner (`open_database`): `out` is the write end of a pipe, a binary file, and what
    `produce` returns must be a JSON value, as it comes back through a pipe too; the child ends
    with os._exit, without Python's exit handlers, so `produce` closes the database itself
    (`get_storage().close()`) for SQLite to remove its -wal and -shm. The file is made
    beside `path` and renamed over it only once whole and synced; its mode is `mode`, or else
    the mode of the file it replaces (0600 if none). Refused: a symbolic link at `path`, anything there but a regular
    file, and a directory on the way that is a symbolic link, unless `follow_symlinks`. A
    click.ClickException in `produce` is raised here again, with its exit code, and the file is
    left as it was.
    """
    directory, name = os.path.split(path)
    if name in ("", ".", ".."):
        raise Refused(f"{path} names a directory, not a file")
    directory_fd = _open_directory(directory, follow_symlinks)
    try:
        try:
            old = os.stat(name, dir_fd=directory_fd, follow_symlinks=False)
        except FileNotFoundError:
            old = None
        if old is not None and stat.S_ISLNK(old.st_mode):
            raise Refused(f"{path} is a symbolic link: not writing through it")
        if old is not None and not stat.S_ISREG(old.st_mode):
            raise Refused(f"{path} is {what_it_is(old.st_mode)}: not replacing it")
        temporary = f".{name}.{os.urandom(6).hex()}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(temporary, flags, 0o600, dir_fd=directory_fd)
        except OSError as error:
            raise Refused(f"cannot write in {directory or '.'}: {error.strerror}") from None
        try:
            if mode is not None or old is not None:
                os.fchmod(fd, stat.S_IMODE(old.st_mode) if mode is None else mode)
            result = _in_a_child(produce, fd)
            os.fsync(fd)
            os.close(fd)
        except BaseException:
            os.close(fd)
            os.unlink(temporary, dir_fd=directory_fd)
            raise
        os.rename(temporary, name, src_dir_fd=directory_fd, dst_dir_fd=directory_fd)
        os.fsync(directory_fd)
        return result
    finally:
        os.close(directory_fd)


def _open_directory(directory, follow_symlinks):
    """The directory, opened; unless `follow_symlinks`, reached one name at a time, none of them
    a symbolic link (each open, not a check before it: nothing can be swapped in between)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
    try:
        if follow_symlinks:
            return os.open(directory or ".", flags)
        fd = os.open("/" if os.path.isabs(directory) else ".", flags)
    except OSError as error:
        raise Refused(f"{directory} cannot be opened: {error.strerror}") from None
    walked = "/" if os.path.isabs(directory) else ""
    for part in directory.split("/"):
        if part in ("", "."):
            continue
        walked = os.path.join(walked, part)
        try:
            next_fd = os.open(part, flags | os.O_NOFOLLOW, dir_fd=fd)
        except OSError as error:
            if os.path.islink(walked):
                message = f"{walked} is a symbolic link: not writing through it (--follow-symlinks allows it)"
            else:
                message = f"{walked} cannot be opened: {error.strerror}"
            raise Refused(message) from None
        finally:
            os.close(fd)
        fd = next_fd
    return fd


def _in_a_child(produce, fd):
    """`produce(out)` run in a child process, its bytes written to `fd` by this one; what it returned."""
    data_read, data_write = os.pipe()
    report_read, report_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(data_read)
        os.close(report_read)
        _child(produce, data_write, report_write)  # never returns
    os.close(data_write)
    os.close(report_write)
    try:
        with open(data_read, "rb", buffering=0, closefd=False) as data:
            while chunk := data.read(1 << 16):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
        with open(report_read, "rb", closefd=False) as report:
            text = report.read()
    finally:
        os.close(data_read)
        os.close(report_read)
        _, status = os.waitpid(pid, 0)
    try:
        report = json.loads(text)
    except ValueError:
        report = {"error": f"the process writing it ended unfinished (wait status {status})", "exit_code": 1}
    if "error" in report:
        error = click.ClickException(report["error"])
        error.exit_code = report["exit_code"]
        raise error
    return report["result"]


def _child(produce, data_write, report_write):
    code, report = 1, {"error": "the process writing it failed", "exit_code": 1}
    try:
        with open(data_write, "wb") as out:
            report = {"result": produce(out)}
        code = 0
    except click.ClickException as error:
        code, report = error.exit_code, {"error": error.format_message(), "exit_code": error.exit_code}
    except OSError as error:
        report = {"error": str(error), "exit_code": 1}
    except BaseException as error:
        traceback.print_exc()
        report = {"error": f"{type(error).__name__}: {error}"[:1000], "exit_code": 1}
    finally:
        try:
            os.write(report_write, json.dumps(report).encode())
        finally:
            os._exit(code)
