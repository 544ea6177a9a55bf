"""The README's sections for the deployed host ("Deploying", "Upgrading", "Logs, settings and
certificates", "Backups" with Litestream, the socket's access and "Checking the site"), run top to
bottom on this host, as root, as an operator would paste them:

    python -m tests.readme_host_run --disposable-host

What each mark before a block means, and so what the run does with the block: README.md,
"Layout". The password typed at the prompts is PASSWORD. A session's commands are judged by what
they print, not by their exit status: a refused connection, or `grep -c` counting none, exits 1
as it should. The lines marked `# systemd` reach tests/systemd_standin.py, first on the blocks'
PATH, with its state (the units' output) in JOURNAL.

Before the first block the run does what the README leaves to the operator: the checkout in
/opt/forwarding (a clone of a temporary upstream, itself a clone of this repository's committed
HEAD; before "Upgrading" the upstream gets a new release, RELEASE, to pull), a self-signed
certificate for forwarding.example in /etc/ssl/forwarding/ (trusted by the system,
forwarding.example being 127.0.0.1 in /etc/hosts), Litestream's replica directory, and nginx
running, as Debian's package leaves it. Before and after some blocks it checks what the README
promises there (Checks). It stops at the first failure, naming the block's line in README.md.

It adds users, writes /etc, /opt/forwarding, /var/lib/forwarding, /var/backups, /srv and binds
ports 80, 443 and 8081, and at its end, passed or failed, undoes all of it: before it changes
anything it writes MARKER, which lists what it is about to make (paths, users, groups), keeps
copies of what it is about to change (/etc/hosts, nginx.conf, sites-enabled/default) and says
which processes are its; undo() works from that marker alone. A run that was killed leaves the
marker, and the next run undoes what it lists before it starts. logrotate, which the README
installs, stays. Without a marker, a host with the service's user or a path the run would make
(CREATED, the service's DEPLOYED among them) is refused (exit status 2), changing nothing: its
data is never moved, restored over or removed. It runs only when
told the host may be changed while it runs (`--disposable-host`, as `.ci/run` says). `--clean`,
for development, undoes what the marker lists.
"""

import argparse
import contextlib
import glob
import json
import os
import pty
import pwd
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import md5
from tests.systemd_standin import environment_file
from tests.test_readme import commands, matches, run_in_one_session

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("Deploying", "Upgrading", "Logs, settings and certificates", "Backups")
MARKS = {
    "<!-- runnable: host -->": "commands",
    "<!-- runnable: host session -->": "session",
    "<!-- output -->": "output",
}
SYSTEMD_MARK = "# systemd"
STANDIN = ROOT / "tests" / "systemd_standin.py"
PASSWORD = "readme-host-run"
PROMPTS = ("New password: ", "Repeat it: ", "Password: ")
RELEASE = "9.9.9"  # the release the upgrade pulls
SITE = "forwarding.example"
CHECKOUT = Path("/opt/forwarding")
JOURNAL = Path("/run/readme-host-run")  # the stand-in's state: pids, logs
BLOCK_TIMEOUT = 300  # seconds for one block: Deploying builds the virtualenv
MARKER = Path("/var/lib/readme-host-run/made.json")  # outside every path the README writes
# A host with any of these, or with the service's user, may run the service: the run refuses it.
DEPLOYED = (
    "/opt/forwarding",
    "/etc/forwarding",
    "/var/lib/forwarding",
    "/var/lib/forwarding.lost-*",
    "/var/backups/forwarding",
    "/srv/forwarding-replica",
    "/etc/systemd/system/forwarding*.service",
)
DEPLOYED_USERS = ("forwarding",)
CREATED = (  # what the run and the README make: in the marker, removed at the end
    *DEPLOYED,
    "/etc/ssl/forwarding",
    "/usr/local/bin/forwarding",
    f"/usr/local/share/ca-certificates/{SITE}.crt",
    "/etc/nginx/conf.d/forwarding.conf",
    "/etc/nginx/conf.d/forwarding.plain-http.conf",
    "/etc/nginx/forwarding",
    "/etc/systemd/system/forwarding*.service.d",
    "/etc/systemd/system/forwarding-backup.timer",
    str(JOURNAL),
)
CHANGED = ("/etc/hosts", "/etc/nginx/nginx.conf", "/etc/nginx/sites-enabled/default")  # put back at the end
# What appears in these is the run's: nginx's files, the links update-ca-certificates makes to
# its certificate (which it leaves, dangling, when the certificate goes).
WATCHED = ("/var/lib/nginx", "/var/log/nginx", "/etc/ssl/certs")
USERS = ("forwarding", "nginx")  # those the README adds; removed if the run added them


@dataclass
class Block:
    section: str
    line: int  # of its first line in README.md
    kind: str | None  # "commands", "session", "output", or None: not marked
    text: str

    def __str__(self):
        return f"README.md line {self.line} ({self.section})"

    def runs_or_prints(self):
        return self.text if self.kind == "output" else self.commands()

    def commands(self):
        """The shell text the block runs: all of it, or a session's commands."""
        if self.kind == "session":
            return "\n".join(command for command, _ in commands(self.text.splitlines(), prompt="# "))
        return self.text if self.kind == "commands" else ""


def host_blocks(text):
    """Every indented code block of SECTIONS in `text`, with the mark on the line before it."""
    lines = text.splitlines()
    found = []
    for heading in SECTIONS:
        start = lines.index(f"## {heading}")
        end = next((n for n in range(start + 1, len(lines)) if lines[n].startswith("## ")), len(lines))
        found += _blocks(lines, start, end, heading)
    return found


def _blocks(lines, start, end, heading):
    """The blocks between lines `start` and `end`: indented by four spaces, after a blank line."""
    found, first = [], None
    for number in range(start, end + 1):
        line = lines[number] if number < end else "## "
        if first is not None and (line.startswith("    ") or not line.strip()):
            continue
        if first is not None:
            text = "\n".join(line[4:] for line in lines[first:number]).rstrip()
            found.append(Block(heading, first + 1, _mark(lines, first), text))
            first = None
        if line.startswith("    ") and not lines[number - 1].strip() and not line.strip().startswith("-"):
            first = number
    return found


def _mark(lines, first):
    before = next(line.strip() for line in reversed(lines[:first]) if line.strip())
    return MARKS.get(before)


class Failure(Exception):
    """A block failed, or what the README promises after it did not hold."""


# --- the host before the first block, and after the last ---------------------------------------


def run(*command, **options):
    return subprocess.run(command, check=True, capture_output=True, text=True, **options).stdout


def git(*arguments, cwd):
    run("git", "-c", "user.name=readme host run", "-c", "user.email=run@readme.invalid", *arguments, cwd=cwd)


def not_fresh(deployed=CREATED, users=DEPLOYED_USERS):
    """Why this host may run the service (a path of it, or its user), or holds what the run
    would make (and so remove), None for a fresh host."""
    for pattern in deployed:
        if found := sorted(glob.glob(pattern)):
            return f"{found[0]} exists"
    for user in users:
        if exists(user, "passwd"):
            return f"a user {user!r} exists"
    return None


def exists(name, database):
    return subprocess.run(["getent", database, name], capture_output=True).returncode == 0


def record(marker=MARKER, created=CREATED, changed=CHANGED, watched=WATCHED, users=USERS, processes=True):
    """The marker, written before the run changes anything: what it is about to make (paths,
    users, groups, processes) and copies of what it is about to change. undo() works from it.
    A test gives its own paths, no users and no processes (`processes=False`)."""
    if marker.parent.exists():  # a run's, killed before its marker was written: it changed nothing
        shutil.rmtree(marker.parent)
    saved = marker.parent / "saved"
    saved.mkdir(parents=True)
    made = {
        "created": [*created, str(marker.parent / "workspace")],
        "changed": {path: save(Path(path), saved / str(number)) for number, path in enumerate(changed)},
        "watched": {path: watch(Path(path)) for path in watched if Path(path).is_dir()},
        "users": [user for user in users if not exists(user, "passwd")],
        "groups": [group for group in users if not exists(group, "group")],
        "processes": {"journal": str(JOURNAL), "checkout": str(CHECKOUT), "nginx": not nginx_runs()}
        if processes
        else {},
        "certificates": processes,
    }
    partial = marker.with_suffix(".partial")
    with partial.open("w") as file:
        json.dump(made, file, indent=1)
        file.flush()
        os.fsync(file.fileno())
    partial.rename(marker)
    return made


def save(path, copy):
    if path.is_symlink():
        return {"symlink": os.readlink(path)}
    if not path.exists():
        return {"absent": True}
    shutil.copy2(path, copy)
    stat = path.stat()
    return {"copy": str(copy), "owner": [stat.st_uid, stat.st_gid], "mode": stat.st_mode & 0o7777}


def watch(directory):
    stat = directory.stat()
    return {
        "entries": sorted(os.listdir(directory)),
        "owner": [stat.st_uid, stat.st_gid],
        "mode": stat.st_mode & 0o7777,
    }


def nginx_runs():
    return subprocess.run(["pgrep", "-f", "^nginx: master process"], capture_output=True).returncode == 0


def undo(marker=MARKER):
    """The host as the marker says it was: the run's processes stopped, what it made removed,
    what it changed put back, its users and certificate gone; then the marker. Run again after a
    failure part-way, it goes on where that stopped. Every path comes from the marker."""
    made = json.loads(marker.read_text())
    stop_everything(made["processes"], made["users"])
    for pattern in made["created"]:
        for path in map(Path, glob.glob(pattern)):
            remove(path)
    for path, saved in made["changed"].items():
        restore(Path(path), saved)
    for directory, before in made["watched"].items():
        for name in set(os.listdir(directory)) - set(before["entries"]):
            remove(Path(directory) / name)
        os.chown(directory, *before["owner"])
        os.chmod(directory, before["mode"])
    for user in made["users"]:
        if exists(user, "passwd"):
            run("userdel", user)
    for group in made["groups"]:
        if exists(group, "group"):
            run("groupdel", group)
    if made["certificates"]:
        run("update-ca-certificates")
    if not made["processes"].get("nginx", True):  # nginx ran before: on its own settings again
        run("nginx", "-s", "reload")
    shutil.rmtree(marker.parent)


def remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def restore(path, saved):
    if "symlink" in saved:
        if not (path.is_symlink() and os.readlink(path) == saved["symlink"]):
            remove(path)
            path.symlink_to(saved["symlink"])
    elif "copy" in saved:
        if path.is_symlink() or path.is_dir():
            remove(path)
        shutil.copyfile(saved["copy"], path)  # in place: /etc/hosts may be a mount
        os.chown(path, *saved["owner"])
        os.chmod(path, saved["mode"])
    else:
        remove(path)


def prepare(workspace):
    """What the README leaves to the operator, on a fresh host."""
    workspace.mkdir(mode=0o700)
    upstream = workspace / "upstream"
    git("clone", "-q", str(ROOT), str(upstream), cwd=workspace)
    git("clone", "-q", str(upstream), str(CHECKOUT), cwd=workspace)
    hosts = Path("/etc/hosts")
    if f" {SITE}\n" not in hosts.read_text():
        with hosts.open("a") as file:
            file.write(f"127.0.0.1 {SITE}\n")
    certificates = Path("/etc/ssl/forwarding")
    certificates.mkdir(mode=0o700)
    run(
        *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={SITE}"),
        *("-addext", f"subjectAltName=DNS:{SITE}"),
        *("-keyout", str(certificates / "privkey.pem"), "-out", str(certificates / "fullchain.pem")),
    )
    shutil.copy(certificates / "fullchain.pem", f"/usr/local/share/ca-certificates/{SITE}.crt")
    run("update-ca-certificates")
    # "A replica on another disk, mounted on /srv/forwarding-replica": here, the same disk.
    Path("/srv/forwarding-replica").mkdir(parents=True)
    # Debian's nginx package starts nginx when it installs it.
    standin("systemctl", "start", "nginx")
    return upstream


def standin(*arguments, journal=JOURNAL):
    return run(sys.executable, str(STANDIN), *arguments, env={**os.environ, "SYSTEMD_STANDIN_STATE": str(journal)})


def journal(unit):
    path = JOURNAL / f"{unit}.service.log"
    return path.read_text(errors="replace") if path.exists() else ""


def stop_everything(processes, users):
    """Every process the run started: the units, nginx if it did not run before, whatever runs a
    program of the checkout (a drill's uWSGI that a failed block left behind), and every process
    of the users it added."""
    if Path(processes.get("journal", "/nonexistent")).is_dir():
        for unit in ("forwarding-backup.timer", "forwarding-litestream", "forwarding"):
            with contextlib.suppress(subprocess.CalledProcessError):
                standin("systemctl", "stop", unit, journal=processes["journal"])
    if processes.get("nginx"):
        with contextlib.suppress(subprocess.CalledProcessError):
            standin("systemctl", "stop", "nginx", journal=processes["journal"])
    checkout = Path(processes.get("checkout", "/nonexistent"))
    uids = set()
    for user in users:
        with contextlib.suppress(KeyError):
            uids.add(pwd.getpwnam(user).pw_uid)
    deadline = time.monotonic() + 10
    while (left := [proc for proc in Path("/proc").glob("[0-9]*") if ours(proc, checkout, uids)]) and (
        time.monotonic() < deadline
    ):
        for proc in left:
            with contextlib.suppress(OSError):
                os.kill(int(proc.name), signal.SIGKILL)
        time.sleep(0.2)


def ours(proc, checkout, uids):
    try:
        return Path(os.readlink(proc / "exe")).is_relative_to(checkout) or proc.stat().st_uid in uids
    except OSError:  # gone, or a kernel thread
        return False


# --- the blocks ------------------------------------------------------------------------------------


def block_environment(bin_directory):
    """Root's login environment, with the stand-in first on PATH."""
    env = {
        "PATH": f"{bin_directory}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "USER": "root",
        "LOGNAME": "root",
        "SHELL": "/bin/bash",
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "DEBIAN_FRONTEND": "noninteractive",  # no debconf dialog on the run's terminal
        "SYSTEMD_STANDIN_STATE": str(JOURNAL),
    }
    # The operator's way to PyPI: a proxy, a mirror.
    env.update({name: value for name, value in os.environ.items() if name.startswith("PIP_") or "_proxy" in name})
    return env


def stand_in_programs(directory):
    for program in ("systemctl", "journalctl"):
        path = directory / program
        path.write_text(f'#!/bin/sh\nexec {sys.executable} {STANDIN} {program} "$@"\n')
        path.chmod(0o755)


def run_commands(block, env):
    """The block in a fresh `bash -euo pipefail` on a terminal of its own: what it printed. The
    test password is typed at each password prompt."""
    pid, terminal = pty.fork()
    if pid == 0:
        os.chdir("/root")
        os.execve("/bin/bash", ["bash", "--noprofile", "--norc", "-euo", "pipefail", "-c", block.text], env)
    printed, answered = b"", 0
    deadline = time.monotonic() + BLOCK_TIMEOUT
    try:
        while time.monotonic() < deadline:
            if not select.select([terminal], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # the terminal closed: bash exited
                break
            if not chunk:
                break
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            printed += chunk
            if len(printed) > answered and printed.decode(errors="replace").endswith(PROMPTS):
                os.write(terminal, f"{PASSWORD}\n".encode())
                answered = len(printed)
        else:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise Failure(f"{block}: did not finish within {BLOCK_TIMEOUT} s")
        # Closed before bash has exited, the terminal would hang up on it (SIGHUP).
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(terminal)
    if os.waitstatus_to_exitcode(status):
        raise Failure(f"{block}: exited with {os.waitstatus_to_exitcode(status)}")
    return printed.decode(errors="replace").replace("\r", "")


def run_session(block, env):
    """The block's `# command` lines in one bash; each prints what the block shows."""
    steps = commands(block.text.splitlines(), prompt="# ")
    ran = run_in_one_session(steps, env, BLOCK_TIMEOUT, cwd="/root")
    for (command, shown), (output, _) in zip(steps, ran):
        print(f"# {command}\n{output}", end="" if output.endswith("\n") or not output else "\n")
        if not matches(shown, output):
            raise Failure(f"{block}: `{command}` printed\n{output}\nwhere the README shows\n{shown}")
    if len(ran) < len(steps):
        raise Failure(f"{block}: did not finish within {BLOCK_TIMEOUT} s: {steps[len(ran)][0]}")
    return "".join(output for output, _ in ran)


# --- what the README promises after some blocks -----------------------------------------------------


def curl(url, *arguments, user=None):
    """What curl prints: the body, then the status on a line of its own. The URL (a login's has
    the password's MD5) and the user go on curl's standard input, which no other user reads, as
    a command line is in `ps`. A refused connection is tried again for a few seconds: `nginx -s
    reload` returns before nginx listens anew."""
    config = f'url = "{url}"\n' + (f'user = "{user}"\n' if user else "")
    return run(
        *("curl", "-s", "--max-time", "10", "--retry", "5", "--retry-connrefused", "--retry-delay", "1"),
        *("-w", "\n%{http_code}", *arguments, "-K", "-"),
        input=config,
    )


def answer(url, *arguments, status="200", user=None):
    body, _, got = curl(url, *arguments, user=user).rpartition("\n")
    if got != status:
        raise Failure(f"{url}: {got} {body}, not {status}")
    return body


def login(password, status="200"):
    return answer(f"https://{SITE}/api/v1/login?username=admin&password={md5(password)}", status=status)


def rule(number):
    return answer(f"https://{SITE}/api/v1/forward/item/{number}", user=f"admin:{PASSWORD}")


def put_rule(number):
    body = json.dumps({"forward_entity_list": [f"sip:{number}@sip.bas-ip.com"]})
    answer(
        f"https://{SITE}/api/v1/forward/item/{number}",
        *("-H", "Content-Type: application/json", "--data-binary", body),
        user=f"admin:{PASSWORD}",
    )


def serial():
    return json.loads(answer(f"https://{SITE}/api/info"))["device_serial_number"]


def replica_txids(printed):
    """`(local txid, the replica's newest max_txid)` in what `litestream status` and `litestream
    ltx` print, None for what they do not show."""
    local = re.search(r"^\S+\s+ok\s+([0-9a-f]+)\s", printed, re.MULTILINE)
    newest = re.findall(r"^\d+\s+[0-9a-f]+\s+([0-9a-f]+)\s", printed, re.MULTILINE)
    return (local and local[1], newest[-1] if newest else None)


def replica_state():
    """replica_txids of Litestream's status and files, read as the README does."""
    env = {**os.environ, **environment_file("/etc/forwarding/forwarding.env")}
    env.update(environment_file("/etc/forwarding/litestream.env"))
    litestream = [str(CHECKOUT / ".venv" / "bin" / "litestream")]
    config = ["-config", "deploy/litestream.yml"]
    status = run(*litestream, "status", *config, cwd=CHECKOUT, env=env)
    return replica_txids(status + run(*litestream, "ltx", *config, env["FORWARDING_DATABASE"], cwd=CHECKOUT, env=env))


def set_schema(database, version):
    """The database's `PRAGMA user_version`, set as its owner."""
    script = "import sqlite3, sys; sqlite3.connect(sys.argv[1], isolation_level=None).execute(sys.argv[2])"
    run(
        "runuser",
        "-u",
        "forwarding",
        "--",
        "/usr/bin/python3",
        "-c",
        script,
        database,
        f"PRAGMA user_version = {int(version)}",
    )


def started_releases():
    return re.findall(r" forwarding: forwarding (\S+) \(schema (\d+)\) starting on Python ", journal("forwarding"))


class Checks:
    """What the README says holds before or after a block. Each check is keyed by a line of
    exactly one block (a line it runs, or an output's)."""

    def __init__(self, upstream, blocks):
        self.upstream = upstream
        self.blocks = blocks
        self.serial = None
        self.last_write = None
        self.before = {
            "git -C /opt/forwarding pull --ff-only": self.release_upstream,
            "made by a newer forwarding": self.newer_schema_refused,
            'mv /var/lib/forwarding "/var/lib/forwarding.lost-': self.replicated,
            ".venv/bin/litestream status -config deploy/litestream.yml": self.replica_current,
        }
        self.after = {
            "rm -f /etc/nginx/sites-enabled/default": self.served_over_https,
            "< deploy/nginx-plain-http.conf": self.served_over_http,
            "forwarding set-password": self.password_changed,
            "git -C /opt/forwarding pull --ff-only": self.upgraded,
            "journalctl -u forwarding --since": self.journal_read,
            "runuser -u forwarding -- /opt/forwarding/.venv/bin/forwarding": self.settings_checked,
            "install -d -o forwarding -g forwarding -m 0700 /var/backups/forwarding": self.backed_up,
            'forwarding restore "$(ls -t': self.restored_backup,
            ".venv/bin/litestream status -config deploy/litestream.yml": self.replica_shown_current,
            'chown forwarding:forwarding "$FORWARDING_DATABASE"': self.restored_replica,
            '-o "$drill/forwarding.db" "$FORWARDING_DATABASE"': self.drill_logged_in,
            '.venv/bin/forwarding restore "$newest"': self.drill_logged_in,
        }

    def block_of(self, key):
        """The one block with a line that holds `key`: a line it runs, or prints."""
        found = [block for block in self.blocks if any(key in line for line in block.runs_or_prints().splitlines())]
        if len(found) != 1:
            raise Failure(f"{len(found)} blocks have a line with {key!r}, where Checks needs one")
        return found[0]

    def keyed(self):
        """`{(block line, "before" or "after"): [check]}`, every key found in exactly one block."""
        found = {}
        for when, checks in (("before", self.before), ("after", self.after)):
            for key, check in checks.items():
                found.setdefault((self.block_of(key).line, when), []).append(check)
        return found

    def served_over_https(self, printed):
        self.serial = serial()
        login("123456")

    def served_over_http(self, printed):
        body = answer(f"http://{SITE}/api/info")
        assert json.loads(body)["device_serial_number"] == self.serial, body

    def password_changed(self, printed):
        login(PASSWORD)
        login("123456", status="400")
        put_rule(101)

    def release_upstream(self):
        """A new release upstream, for the pull to fetch."""
        init = self.upstream / "forwarding" / "__init__.py"
        init.write_text(re.sub(r'__version__ = "[^"]*"', f'__version__ = "{RELEASE}"', init.read_text()))
        git("commit", "-q", "-am", f"Release {RELEASE}", cwd=self.upstream)

    def upgraded(self, printed):
        version = run("/usr/local/bin/forwarding", "--version", cwd="/")
        first, last = started_releases()[0], started_releases()[-1]
        if version != f"forwarding {RELEASE} (writes database schema {last[1]})\n" or last[0] != RELEASE:
            raise Failure(f"`forwarding --version` printed {version!r}, the service started {last}")
        # The start line the README shows, with the release it had before the pull.
        shown = next(block for block in self.blocks if block.kind == "output" and "starting on" in block.text)
        line = next(line for line in journal("forwarding").splitlines() if " starting on Python " in line)
        if not matches(f"... INFO forwarding: {shown.text}", line):
            raise Failure(f"{shown}: the service's start line is\n{line}")
        assert first[0] != RELEASE, first
        rule(101)

    def journal_read(self, printed):
        assert " starting on Python " in printed, printed

    def settings_checked(self, printed):
        assert "OK: the settings (/etc/forwarding/forwarding.env)" in printed, printed
        serial()

    def backed_up(self, printed):
        copy = Path(f"/var/backups/forwarding/forwarding-{time.strftime('%Y%m%d', time.gmtime())}.db")
        stat = copy.stat()
        assert (copy.owner(), oct(stat.st_mode & 0o777)) == ("forwarding", "0o600"), (copy, stat)

    def restored_backup(self, printed):
        assert "Restored /var/backups/forwarding/forwarding-" in printed, printed
        login(PASSWORD)
        rule(101)
        put_rule(102)  # after the backup: what the replica alone holds
        self.last_write = time.monotonic()

    def newer_schema_refused(self):
        """The service, started on a database of the newer schema the README's line names, stops
        with that line; then the database goes back to this code's schema."""
        shown = self.block_of("made by a newer forwarding").text
        database, newer, ours = re.search(
            r"database '(.*)': .* \(schema (\d+); this code knows up to (\d+)\)", shown
        ).groups()
        standin("systemctl", "stop", "forwarding")
        set_schema(database, newer)
        try:
            standin("systemctl", "start", "forwarding")
        except subprocess.CalledProcessError:
            pass
        else:
            raise Failure(f"the service started on a database of schema {newer}")
        finally:
            set_schema(database, ours)
        if shown not in journal("forwarding").splitlines():
            raise Failure(f"the service did not stop with the README's line:\n{journal('forwarding')[-1000:]}")
        standin("systemctl", "start", "forwarding")

    def replica_current(self):
        """Litestream has shipped what it found at its start (its first seconds, on a fresh host)."""
        deadline = time.monotonic() + 15
        while None in (txids := replica_state()) or len(set(txids)) > 1:
            if time.monotonic() > deadline:
                raise Failure(f"Litestream's replica is not current within 15 s: {txids}")
            time.sleep(0.5)

    def replica_shown_current(self, printed):
        """ "The replica is current when its newest file's max_txid is the local txid of status"."""
        local, newest = replica_txids(printed)
        assert local is not None and local == newest, printed

    def replicated(self):
        """The README: a write acknowledged more than 6 s before the loss comes back."""
        time.sleep(max(0, self.last_write + 6 - time.monotonic()))

    def restored_replica(self, printed):
        assert serial() == self.serial
        login(PASSWORD)
        rule(101)
        rule(102)

    def drill_logged_in(self, printed):
        lines = printed.strip().splitlines()
        assert self.serial in printed and lines[-1] == "200", printed


# --- the run -----------------------------------------------------------------------------------------


def run_blocks(blocks, checks, env):
    keyed = checks.keyed()
    for block in blocks:
        print(f"\n=== {block}: {block.kind}\n{block.text}\n---", flush=True)
        if block.kind is None:
            raise Failure(f"{block}: no mark says what it is ({', '.join(MARKS)})")
        checking(block, "before", keyed)
        if block.kind == "output":
            continue
        started = time.monotonic()
        printed = (run_commands if block.kind == "commands" else run_session)(block, env)
        print(f"--- {time.monotonic() - started:.1f} s", flush=True)
        checking(block, "after", keyed, printed)


def checking(block, when, keyed, *printed):
    for check in keyed.get((block.line, when), []):
        try:
            check(*printed)
        except Failure as failure:
            raise Failure(f"{when} {block}: {failure}") from failure
        except Exception as failure:
            detail = f"\n{failure.stderr}" if isinstance(failure, subprocess.CalledProcessError) else ""
            raise Failure(f"{when} {block}: {check.__name__}: {failure!r}{detail}") from failure


def main(arguments=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--disposable-host", action="store_true", help="this host may be changed while it runs")
    parser.add_argument("--clean", action="store_true", help="for development: undo what the marker lists")
    options = parser.parse_args(arguments)
    if not options.disposable_host or os.geteuid() != 0:
        parser.error("this adds users and writes /etc, /opt and /var: run it as root with --disposable-host")
    if options.clean:
        if not MARKER.exists():
            print(f"readme_host_run: no {MARKER}: nothing of a run is left to undo")
            return 0
        undo()
        print(f"readme_host_run: undid what {MARKER} listed")
        return 0
    if MARKER.exists():
        print(f"readme_host_run: a run did not finish: undoing what {MARKER} lists first", file=sys.stderr)
        undo()
    if reason := not_fresh():
        print(
            f"readme_host_run: refused: {reason}, so the service may run here; this run changes nothing",
            file=sys.stderr,
        )
        return 2
    if run("git", "status", "--porcelain", cwd=ROOT):
        print("readme_host_run: uncommitted changes are not in the clone, the README's are", file=sys.stderr)
    blocks = host_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    started = time.monotonic()
    # A CI timeout's SIGTERM still undoes the run (finally); a SIGKILL leaves the marker to the next.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    record()
    try:
        workspace = MARKER.parent / "workspace"
        upstream = prepare(workspace)
        (workspace / "bin").mkdir()
        stand_in_programs(workspace / "bin")
        run_blocks(blocks, Checks(upstream, blocks), block_environment(workspace / "bin"))
    except (Failure, subprocess.CalledProcessError) as failure:
        details = f"{failure}\n{failure.stderr}" if isinstance(failure, subprocess.CalledProcessError) else failure
        print(f"\nreadme_host_run: FAILED: {details}", file=sys.stderr)
        for unit in ("forwarding", "forwarding-litestream"):
            print(f"--- journal of {unit} (last lines)\n{journal(unit)[-3000:]}", file=sys.stderr)
        return 1
    finally:
        undo()
    ran = sum(block.kind != "output" for block in blocks)
    took = time.monotonic() - started
    print(f"\nreadme_host_run: {ran} blocks ran as the README says, in {took:.0f} s; the host is as it was")
    return 0


if __name__ == "__main__":
    sys.exit(main())
