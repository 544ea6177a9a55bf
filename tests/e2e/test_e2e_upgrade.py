"""An upgrade as README's "Upgrading" does it, in a clone of the repository: the service (uWSGI
with the clone's wsgi.ini, which puts the checkout first on its path) and the `forwarding`
command of the clone's virtualenv report the same release before a `git pull` and after the
restart. uWSGI's chain reload, which README says does not upgrade, is tried in between.

The virtualenv is the deployment's shape without building it again: the checkout installed
editable (README's install command) into a virtualenv of its own, which finds the dependencies
in the tests' virtualenv, and uWSGI's program copied into it as pip would have built it there.
An install that copies the package into the virtualenv (`pip install .`) leaves the command on
the old release after the pull, and this test fails.
"""

import re
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.e2e.deployment import ROOT, START_TIMEOUT, free_port, request, wait_until

pytestmark = pytest.mark.e2e

STARTED = re.compile(r" INFO forwarding: forwarding (\S+) \(schema \d+\) starting on Python ")
GIT = [
    "git",
    "-c",
    "user.name=upgrade test",
    "-c",
    "user.email=upgrade@test.invalid",
    "-c",
    "advice.detachedHead=false",
]


def git(*arguments, cwd):
    subprocess.run([*GIT, *arguments], cwd=cwd, check=True, capture_output=True)


def install(checkout, uwsgi_program):
    """The checkout installed editable into `checkout/.venv`, with uWSGI's program beside it."""
    venv = checkout / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site_packages = Path(sysconfig.get_path("purelib", vars={"base": str(venv)}))
    # A .pth named to come after the editable install's own, so that its finder is the checkout's.
    (site_packages / "zz-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
        + ["install", "-q", "--no-deps", "-e", str(checkout)],
        check=True,
        capture_output=True,
    )
    shutil.copy2(uwsgi_program, venv / "bin" / "uwsgi")


class Service:
    """The clone's uWSGI, started and stopped as systemd does (WorkingDirectory, SIGTERM)."""

    def __init__(self, checkout, directory):
        self.checkout = checkout
        self.chain_reload = directory / "chain-reload"
        self.port = free_port()
        self.log_path = directory / "uwsgi.log"
        self.env = {
            "PATH": "/usr/bin:/bin",
            "FORWARDING_HTTP_SOCKET": f"127.0.0.1:{self.port}",
            "FORWARDING_DATABASE": str(directory / "forwarding.db"),
        }
        self.process = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(self.checkout / ".venv" / "bin" / "uwsgi"), "--ini", str(self.checkout / "wsgi.ini")]
                + ["--touch-chain-reload", str(self.chain_reload)],
                cwd=self.checkout,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._answers, START_TIMEOUT, "the clone's uWSGI did not answer")

    def _answers(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"uWSGI exited with {self.process.returncode}:\n{self.log()}")
        try:
            return request(self.port, "GET", "/api/info", timeout=5).status == 200
        except OSError:
            return False

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def reload_chained(self):
        """uWSGI's chain reload: each worker replaced in turn, the master kept."""
        done = self.log().count("chain reloading complete")
        self.chain_reload.touch()
        wait_until(lambda: self.log().count("chain reloading complete") > done, 60, "no chain reload")

    def firmware_version(self):
        return request(self.port, "GET", "/api/info").json()["firmware_version"]

    def releases_started(self):
        """The release each start of the service named in its log, in order."""
        return STARTED.findall(self.log())


def command_release(checkout):
    """The release `forwarding --version` of the clone's virtualenv prints (its first word after
    `forwarding`, whatever follows it), run from elsewhere than the checkout, as an operator may."""
    printed = subprocess.run(
        [str(checkout / ".venv" / "bin" / "forwarding"), "--version"],
        cwd="/",
        env={"PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return re.match(r"forwarding (\S+)", printed).group(1)


def test_after_a_pull_a_restart_runs_the_new_release_in_the_service_and_the_command(programs, tmp_path):
    upstream, checkout = tmp_path / "upstream", tmp_path / "checkout"
    # The repository as committed, and the host's checkout of it.
    git("clone", "-q", str(ROOT), str(upstream), cwd=tmp_path)
    git("clone", "-q", str(upstream), str(checkout), cwd=tmp_path)
    install(checkout, programs[1])
    service = Service(checkout, tmp_path)
    service.start()
    try:
        before = service.releases_started()
        assert before == [command_release(checkout)]
        assert service.firmware_version() == "1.0.0"

        # A new release upstream, fetched as README's "Upgrading" does; pip is not run again. Its
        # code answers differently too: /api/info's default firmware_version (a setting).
        for path, old, new in [
            ("__init__.py", r'__version__ = "[^"]*"', '__version__ = "9.9.9"'),
            ("config.py", r'"FIRMWARE_VERSION": "1.0.0"', '"FIRMWARE_VERSION": "9.9.9"'),
        ]:
            module = upstream / "forwarding" / path
            module.write_text(re.sub(old, new, module.read_text()))
        git("commit", "-q", "-am", "Release 9.9.9", cwd=upstream)
        git("pull", "-q", cwd=checkout)
        assert command_release(checkout) == "9.9.9"

        # New workers, one at a time, run the code their master imported at its start.
        service.reload_chained()
        assert service.firmware_version() == "1.0.0"

        service.stop()
        service.start()
        assert service.releases_started() == [*before, "9.9.9"]
        assert service.firmware_version() == "9.9.9"
        assert command_release(checkout) == "9.9.9"
    finally:
        service.stop()
