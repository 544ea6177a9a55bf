"""`systemctl` and `journalctl` for a host where systemd is not PID 1 (tests/readme_host_run.py),
with only the verbs the README's deployment uses.

A service is its unit in /etc/systemd/system, drop-ins (`<unit>.d/*.conf`) applied in order: the
`ExecStart` run as `User`, `Group` and `SupplementaryGroups` (after the user's own groups, as
systemd's initgroups), with `EnvironmentFile`, `WorkingDirectory` and `UMask`, in directories made
as `StateDirectory` and `RuntimeDirectory` say, stopped with `KillSignal`. A supervisor process
per service holds its `NOTIFY_SOCKET` (`start` returns once a `Type=notify` service is ready),
writes its output to a file that `journalctl -u` prints, and removes its runtime directory when
it exits; a oneshot service runs to its end before `start` returns. Not done: the sandbox
(`ProtectSystem`, `ReadWritePaths`, ...), `Restart`, and a timer's calendar: a timer is only
marked active. nginx is Debian's package,
driven with `nginx` and `nginx -s`. `journalctl` ignores `--since` (everything was logged today)
and `-f` prints what is there and exits.

Run as `.venv/bin/python tests/systemd_standin.py systemctl ARGS` (or `journalctl`): the standard
library and `forwarding.envfile`.
"""

import argparse
import contextlib
import grp
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from forwarding import envfile

UNITS = Path("/etc/systemd/system")
STATE = Path(os.environ.get("SYSTEMD_STANDIN_STATE", "/run/systemd-standin"))
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # systemd's, for services
START_TIMEOUT = 90  # seconds: systemd's TimeoutStartSec
NGINX_PID = Path("/run/nginx.pid")  # /etc/nginx/nginx.conf's `pid`
LIST_KEYS = {"ExecStart", "ExecStartPost", "EnvironmentFile", "SupplementaryGroups"}


class Failed(Exception):
    """What systemctl prints before it exits 1."""


def parse_unit(text, unit=None):
    """`{"Section.Key": [values]}` of a unit file's `text`, on top of `unit` (a drop-in's base):
    a key given again adds a value, an empty value empties the list."""
    unit = {key: list(values) for key, values in (unit or {}).items()}
    section = None
    lines = iter(re.sub(r"\\\n", " ", text).splitlines())
    for line in (line.strip() for line in lines):
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = (part.strip() for part in line.partition("="))
        values = unit.setdefault(f"{section}.{key}", [])
        if not value:
            values.clear()
        else:
            values.extend(value.split() if key == "SupplementaryGroups" else [value])
    return unit


def read_unit(name, directory=UNITS):
    """The unit `name` with its drop-ins, as parse_unit gives it."""
    path = directory / name
    if not path.exists():
        raise Failed(f"Unit {name} not found.")
    unit = parse_unit(path.read_text())
    for drop_in in sorted((directory / f"{name}.d").glob("*.conf")):
        unit = parse_unit(drop_in.read_text(), unit)
    return unit


def last(unit, key, default=None):
    values = unit.get(f"Service.{key}") or unit.get(key) or []
    return values[-1] if values else default


def command_line(value):
    """The argv of an `ExecStart=` value: systemd's `%%` and `$$` taken as `%` and `$`; other
    specifiers, variables and prefixes (`-`, `+`, `@`, `!`) are not the README's, and refused."""

    def unescape(match):
        if match[0] in ("%%", "$$"):
            return match[0][0]
        raise Failed(f"{value!r}: the stand-in does not expand {match[0]!r}")

    if value[:1] in "-+@!:":
        raise Failed(f"{value!r}: the stand-in takes no prefix")
    return shlex.split(re.sub(r"%.|\$(\$|\{?\w+)", unescape, value))


def environment_file(path):
    """The variables of an `EnvironmentFile`, read as the `forwarding` command reads the service's."""
    return envfile.parse(Path(path).read_text(), path)


def process_settings(unit):
    """Popen's keyword arguments for the unit's commands: user, groups, environment, directory."""
    user = pwd.getpwnam(last(unit, "User", "root"))
    group = grp.getgrnam(last(unit, "Group")).gr_gid if last(unit, "Group") else user.pw_gid
    groups = os.getgrouplist(user.pw_name, group) + [
        grp.getgrnam(name).gr_gid for name in unit.get("Service.SupplementaryGroups", [])
    ]
    env = {"PATH": PATH, "HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name, "SHELL": user.pw_shell}
    for path in unit.get("Service.EnvironmentFile", []):
        optional = path.startswith("-")
        if not (optional and not Path(path[1:]).exists()):
            env.update(environment_file(path.removeprefix("-")))
    return {
        "user": user.pw_uid,
        "group": group,
        "extra_groups": sorted(set(groups)),
        "env": env,
        "cwd": last(unit, "WorkingDirectory", "/"),
        "umask": int(last(unit, "UMask", "0022"), 8),
        "stdin": subprocess.DEVNULL,
    }


def make_directories(unit):
    """StateDirectory under /var/lib, RuntimeDirectory under /run: made, given to the unit's user."""
    settings = process_settings(unit)
    for key, base in (("StateDirectory", "/var/lib"), ("RuntimeDirectory", "/run")):
        for name in (last(unit, key) or "").split():
            path = runtime_directory(name) if key == "RuntimeDirectory" else Path(base) / name
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, settings["user"], settings["group"])
            path.chmod(int(last(unit, f"{key}Mode", "0755"), 8))


def full_name(name):
    return name if "." in name else f"{name}.service"


def state(name, suffix):
    return STATE / f"{full_name(name)}.{suffix}"


def started_at(pid):
    """The process's start time (clock ticks since boot, /proc/<pid>/stat), None if it is gone."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return None


def recorded_pid(pid_file):
    """The pid in `pid_file` if that process still runs: the one started, not a later process
    given the same number (its start time is kept beside the pid, in a `.started` file)."""
    try:
        pid = int(pid_file.read_text())
        recorded = pid_file.with_suffix(".started")
        expected = int(recorded.read_text()) if recorded.exists() else None
    except (FileNotFoundError, ValueError):
        return None
    now = started_at(pid)
    return pid if now is not None and expected in (None, now) else None


def alive(pid_file):
    return recorded_pid(pid_file) is not None


def record_pid(name, pid):
    state(name, "started").write_text(str(started_at(pid)))
    state(name, "pid").write_text(str(pid))


def supervise(name):
    """The service's parent while it runs: starts it, takes its notifications, cleans up after it."""
    try:
        run_service(name)
    finally:
        if not state(name, "ready").exists():
            state(name, "failed").touch()
        for suffix in ("pid", "started", "ready", "notify"):
            state(name, suffix).unlink(missing_ok=True)


def run_service(name):
    unit = read_unit(full_name(name))
    settings = process_settings(unit)
    notify = None
    if last(unit, "Type", "simple") == "notify":
        path = state(name, "notify")
        path.unlink(missing_ok=True)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(path))
        # Only the service's user may say it is ready, as with systemd's socket.
        os.chown(path, settings["user"], settings["group"])
        path.chmod(0o600)
        notify.settimeout(0.2)
        settings["env"]["NOTIFY_SOCKET"] = str(path)
    (argv,) = [command_line(value) for value in unit["Service.ExecStart"]]
    process = subprocess.Popen(argv, process_group=0, **settings)
    record_pid(name, process.pid)
    if notify is None:
        state(name, "ready").touch()
    while process.poll() is None:
        if notify is None:
            time.sleep(0.2)
            continue
        try:
            message = notify.recv(4096).decode(errors="replace")
        except TimeoutError:
            continue
        if "READY=1" in message.splitlines():
            state(name, "ready").touch()
    print(f"{full_name(name)}: main process exited, status {process.returncode}", flush=True)
    # KillMode=mixed (or control-group): what is left of the service goes with its main process.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    for directory in (last(unit, "RuntimeDirectory") or "").split():
        shutil.rmtree(runtime_directory(directory), ignore_errors=True)


def runtime_directory(name):
    """/run/<name>, for a plain name only: nothing above /run, nor /run itself, is ever removed."""
    if not re.fullmatch(r"[A-Za-z0-9_@:][A-Za-z0-9_.@:-]*", name) or name in (".", ".."):
        raise Failed(f"RuntimeDirectory={name}: the stand-in takes a plain name under /run only")
    return Path("/run") / name


def start(name):
    if name.endswith(".timer"):
        read_unit(name)
        return state(name, "active").touch()
    if full_name(name) == "nginx.service":
        return nginx_start()
    if alive(state(name, "pid")):
        return
    unit = read_unit(full_name(name))
    make_directories(unit)
    if last(unit, "Type") == "oneshot":
        return run_once(name, unit)
    for suffix in ("failed", "ready"):
        state(name, suffix).unlink(missing_ok=True)
    with open(state(name, "log"), "ab") as log:
        subprocess.Popen(
            [sys.executable, __file__, "supervise", name],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not state(name, "ready").exists():
        if state(name, "failed").exists() or time.monotonic() > deadline:
            raise Failed(f"Job for {full_name(name)} failed. Its log:\n{tail(name, 20)}")
        time.sleep(0.1)


def run_once(name, unit):
    """A oneshot service, started: its ExecStart lines in turn, then ExecStartPost, waited for."""
    settings = process_settings(unit)
    with open(state(name, "log"), "ab") as log:
        for value in unit.get("Service.ExecStart", []) + unit.get("Service.ExecStartPost", []):
            finished = subprocess.run(command_line(value), stdout=log, stderr=subprocess.STDOUT, **settings)
            if finished.returncode:
                raise Failed(f"Job for {full_name(name)} failed. Its log:\n{tail(name, 20)}")


def stop(name):
    if name.endswith(".timer"):
        return state(name, "active").unlink(missing_ok=True)
    if full_name(name) == "nginx.service":
        return nginx_stop()
    pid_file = state(name, "pid")
    pid = recorded_pid(pid_file)
    if pid is None:  # gone, or its number is another process's now
        return
    unit = read_unit(full_name(name))
    os.kill(pid, signal.Signals[last(unit, "KillSignal", "SIGTERM")])
    if not wait_gone(pid_file, int(last(unit, "TimeoutStopSec", "90"))):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        if not wait_gone(pid_file, 10):
            raise Failed(f"{full_name(name)} did not stop")


def wait_gone(path, timeout):
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not path.exists()


def nginx_running():
    """nginx's master runs: the pid in its pid file is a process that says it is."""
    try:
        pid = int(NGINX_PID.read_text())
        return Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"nginx: master process")
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return False


def nginx_start():
    if not nginx_running():
        subprocess.run(["nginx"], check=True)


def nginx_stop():
    if nginx_running():
        subprocess.run(["nginx", "-s", "quit"], check=True)
        while nginx_running():
            time.sleep(0.1)


def reload(name):
    if full_name(name) != "nginx.service":
        raise Failed(f"the stand-in reloads nginx only, not {name}")
    if not nginx_running():
        raise Failed("nginx.service is not active, cannot reload.")
    subprocess.run(["nginx", "-s", "reload"], check=True)


def status(name):
    """systemctl's status: the unit, whether it runs, its last lines; exit status 3 if it does not."""
    if full_name(name) == "nginx.service":
        running, pid = nginx_running(), NGINX_PID
    elif name.endswith(".timer"):
        running, pid = state(name, "active").exists(), None
    else:
        running, pid = alive(state(name, "pid")), state(name, "pid")
    print(f"* {full_name(name)} (systemd stand-in)")
    print(f"     Active: {'active (running)' if running else 'inactive (dead)'}")
    if running and pid:
        print(f"   Main PID: {pid.read_text().strip()}")
    if state(name, "log").exists():
        print(tail(name, 10))
    return 0 if running else 3


def tail(name, lines):
    path = state(name, "log")
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def systemctl(arguments):
    verb, *rest = arguments
    now = "--now" in rest
    names = [name for name in rest if not name.startswith("-")]
    if verb == "daemon-reload":
        return 0
    if verb == "enable":
        for name in names if now else ():
            start(name)
        return 0
    if verb == "status":
        return max(status(name) for name in names)
    actions = {"start": [start], "stop": [stop], "restart": [stop, start], "reload": [reload]}
    if verb not in actions:
        raise Failed(f"the stand-in does not do `systemctl {verb}`")
    for name in names:
        for action in actions[verb]:
            action(name)
    return 0


def journalctl(arguments):
    parser = argparse.ArgumentParser(prog="journalctl")
    parser.add_argument("-u", "--unit", action="append", default=[])
    parser.add_argument("-n", "--lines", type=int)
    parser.add_argument("-f", "--follow", action="store_true")
    parser.add_argument("--since")
    parser.add_argument("--no-pager", action="store_true")
    options = parser.parse_args(arguments)
    for name in options.unit:
        path = state(name, "log")
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        print("\n".join(lines[-options.lines :] if options.lines else lines) or "-- No entries --")
    return 0


def main(arguments):
    STATE.mkdir(parents=True, exist_ok=True)
    STATE.chmod(0o755)
    program, *rest = arguments
    if program == "supervise":
        return supervise(*rest) or 0
    try:
        return {"systemctl": systemctl, "journalctl": journalctl}[program](rest)
    except Failed as failure:
        print(failure, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
