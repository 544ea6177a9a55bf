"""The README's walkthrough and recipes, run as written against the service of its quick start.

A block of the README after a `<!-- runnable -->` line holds `$ command` lines, each followed by
what it prints; `...` there stands for what varies (tokens, request ids), and a line of `...` alone
for any lines. The commands run in order in one bash session, so `TOKEN=$(...)` carries over, over
a fresh database; `127.0.0.1:8080`, the quick start's address, becomes the test's free port.
"""

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.e2e.deployment import Uwsgi, free_port, program

ROOT = Path(__file__).resolve().parents[1]
MARK = "<!-- runnable -->"
QUICK_START_ADDRESS = "127.0.0.1:8080"
RUN_TIMEOUT = 60  # seconds for every command together
CURL_TIMEOUT = 10  # seconds for one curl, so that a hung request names its command
NEEDED = "the README's recipes need uwsgi, curl and jq"


def runnable_blocks(text):
    """The lines of each block that follows a `<!-- runnable -->` line: indented or fenced."""
    lines = text.splitlines()
    blocks = []
    for at in (number for number, line in enumerate(lines) if line.strip() == MARK):
        rest = iter(lines[at + 1 :])
        first = next(line for line in rest if line.strip())
        if first.startswith("```"):
            blocks.append(list(iter(rest.__next__, "```")))
        else:
            block = [first]
            for line in rest:
                if line.strip() and not line.startswith("    "):
                    break
                block.append(line)
            blocks.append([line[4:] for line in block])
    return blocks


def incomplete(command):
    """Whether bash needs more lines to finish `command` (a line continued, a loop not closed)."""
    if command.endswith("\\"):
        return True
    checked = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
    return "unexpected end of file" in checked.stderr


def commands(block, prompt="$ "):
    """`[(command, shown output)]` of a block of `$ command` lines and their output (`# command`
    for root's, with `prompt="# "`)."""
    found = []
    for line in block:
        if line.startswith(prompt):
            found.append([line[len(prompt) :], []])
        elif not found:
            raise ValueError(f"a runnable block starts with {line!r}, not a `{prompt}` command")
        elif not found[-1][1] and incomplete(found[-1][0]):
            found[-1][0] += "\n" + line
        else:
            found[-1][1].append(line)
    return [(command, "\n".join(output)) for command, output in found]


def tidy(output):
    """Output as a terminal shows it: no carriage returns, trailing spaces or blank lines at the end."""
    return "\n".join(line.rstrip() for line in output.replace("\r", "").splitlines()).strip("\n")


def matches(shown, output):
    """Whether `output` is what the README shows, `...` matching anything."""
    lines = tidy(shown).split("\n")
    pattern = "\n".join(
        r"[\s\S]*" if line.strip() == "..." else ".*".join(map(re.escape, line.split("..."))) for line in lines
    )
    return re.fullmatch(pattern, tidy(output)) is not None


def run_in_one_session(steps, env, timeout, cwd=ROOT):
    """`[(output, exit status)]` of each command, run in order by one bash in `cwd`; stderr goes with stdout.

    Ends early at the first command that does not finish.
    """
    marker = f"--- {uuid.uuid4().hex} ---"
    script = ["exec 2>&1"]
    for command, _ in steps:
        script += [command, f"printf '\\n{marker} %d\\n' $?"]
    try:
        finished = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", "\n".join(script)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        ).stdout
    except subprocess.TimeoutExpired as expired:
        finished = expired.stdout or ""
        finished = finished.decode(errors="replace") if isinstance(finished, bytes) else finished
    parts = re.split(rf"\n{re.escape(marker)} (\d+)\n", finished)
    return [(parts[k], int(parts[k + 1])) for k in range(0, len(parts) - 1, 2)]


@pytest.fixture
def quick_start(tmp_path):
    """The quick start's `uwsgi --ini wsgi.ini`, on a free port over a fresh database:
    `(address, database)`."""
    uwsgi, _, _ = (program(name, NEEDED) for name in ("uwsgi", "curl", "jq"))
    address = f"127.0.0.1:{free_port()}"
    database = tmp_path / "forwarding.db"
    # Two workers, not four: quicker to start, and a token still crosses from one to the other.
    settings = {"FORWARDING_HTTP_SOCKET": address, "FORWARDING_DATABASE": str(database), "FORWARDING_PROCESSES": "2"}
    service = Uwsgi(uwsgi, tmp_path, settings)
    try:
        service.start()
        yield address, database
    finally:
        service.stop()


def test_blocks_are_read_as_written():
    block = ["$ for n in 1 2; do", "    echo $n", "  done", "1", "2", "$ X=$(echo a \\", "    b)", "$ echo $X", "a b"]
    assert commands(block) == [
        ("for n in 1 2; do\n    echo $n\n  done", "1\n2"),
        ("X=$(echo a \\\n    b)", ""),
        ("echo $X", "a b"),
    ]
    text = f"Prose\n\n{MARK}\n    $ echo a\n    a\n\n    $ echo b\n    b\nProse\n\n{MARK}\n```\n$ echo c\nc\n```\n"
    assert runnable_blocks(text) == [["$ echo a", "a", "", "$ echo b", "b"], ["$ echo c", "c"]]
    assert matches('{"token":"...","n":1}', '{"token":"cb21-4d","n":1}')
    assert not matches('{"token":"...","n":1}', '{"token":"cb21","n":2}')
    assert not matches("{}", '{}\n{"error":"Log In"}')
    assert matches("a\n...\nz", "a\nb\nc\nz\r\n")


@pytest.mark.e2e  # it starts uWSGI, as the quick start does
def test_the_readme_runs_as_written(quick_start, tmp_path):
    address, database = quick_start
    steps = [step for block in runnable_blocks((ROOT / "README.md").read_text()) for step in commands(block)]
    assert len(steps) >= 10, "the README's walkthrough and recipes are marked runnable"
    (tmp_path / ".curlrc").write_text(f"max-time = {CURL_TIMEOUT}\n")
    env = {name: value for name, value in os.environ.items() if not name.startswith("FORWARDING_")}
    # The operator's commands on the host read the service's database; curl reads only this .curlrc.
    env.update(FORWARDING_DATABASE=str(database), CURL_HOME=str(tmp_path))
    ran = run_in_one_session(
        [(command.replace(QUICK_START_ADDRESS, address), shown) for command, shown in steps], env, RUN_TIMEOUT
    )

    for (command, shown), (output, status) in zip(steps, ran):
        assert (status, matches(shown, output)) == (0, True), f"$ {command}\nshown:\n{shown}\nprinted:\n{output}"
    assert len(ran) == len(steps), f"did not finish within {RUN_TIMEOUT} s: $ {steps[len(ran)][0]}"
