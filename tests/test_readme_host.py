"""The README's blocks for the deployed host ("Deploying" to "Checking the site", which
tests/readme_host_run.py runs on a fresh host): each is marked as commands, a session or output,
none is skipped; each runs on its own in a fresh shell, using no variable that another block
set; and each line that needs systemd as PID 1 says so (`# systemd`), so that a run where
systemd is not PID 1 knows what to replace."""

import json
import os
import re
import signal
import textwrap

import pytest

from tests.readme_host_run import (
    CREATED,
    MARKS,
    ROOT,
    SYSTEMD_MARK,
    Block,
    Checks,
    host_blocks,
    not_fresh,
    record,
    undo,
)
from tests.systemd_standin import (
    Failed,
    command_line,
    environment_file,
    last,
    parse_unit,
    process_settings,
    read_unit,
    recorded_pid,
    runtime_directory,
    started_at,
)


def readme_blocks():
    return host_blocks((ROOT / "README.md").read_text(encoding="utf-8"))


def run_blocks():
    return [block for block in readme_blocks() if block.kind != "output"]


def used_variables(block):
    """The shell variables `block` expands: single-quoted text (envsubst's list, sh -c's
    scripts) and comments are not expanded."""
    code = "\n".join(re.sub(r"'[^']*'", "", line).split(" #")[0] for line in block.splitlines())
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", code))


def set_variables(block):
    """The variables `block` sets: `NAME=value` at a command's start, or after `export`, a `for`
    loop's, `read`'s, and those of an environment file of deploy/ that it reads, installed in
    /etc/forwarding."""
    found = set(re.findall(r"(?:^|[;&|(]\s*|export\s+|\\\n\s*|\s)([A-Za-z_][A-Za-z0-9_]*)=", block, re.MULTILINE))
    found |= set(re.findall(r"\bfor\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\b", block))
    found |= set(re.findall(r"\bread\s+(?:-\w+\s+(?:'[^']*'\s+)?)*([A-Za-z_][A-Za-z0-9_]*)", block))
    for name in re.findall(r"(?:^|\s)\. /etc/forwarding/(\S+\.env)\b", block):
        found |= set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", (ROOT / "deploy" / name).read_text(), re.MULTILINE))
    return found


def test_every_section_has_blocks_of_each_kind():
    blocks = readme_blocks()
    assert {block.section for block in blocks} == {
        "Deploying",
        "Upgrading",
        "Logs, settings and certificates",
        "Backups",
    }
    assert {block.kind for block in blocks} == set(MARKS.values())
    assert len(blocks) >= 20


@pytest.mark.parametrize("block", readme_blocks(), ids=str)
def test_each_block_is_marked_as_what_it_is(block):
    assert block.kind is not None, f"{block} follows none of {list(MARKS)}:\n{block.text}"


@pytest.mark.parametrize("block", run_blocks(), ids=str)
def test_a_block_uses_only_the_variables_it_sets(block):
    assert used_variables(block.commands()) <= set_variables(block.commands()), block.text


@pytest.mark.parametrize("block", run_blocks(), ids=str)
def test_each_line_that_needs_systemd_is_marked(block):
    for line in block.commands().splitlines():
        if re.search(r"\b(systemctl|journalctl)\b", line):
            assert line.rstrip().endswith(SYSTEMD_MARK), line


def test_each_check_of_the_run_finds_its_block():
    checks = Checks(None, readme_blocks())
    assert sum(len(found) for found in checks.keyed().values()) == len(checks.before) + len(checks.after)


def test_blocks_and_marks_are_found_where_they_are():
    text = textwrap.dedent("""\
        ## Deploying

        Prose:

        <!-- runnable: host -->

            a \\
                b

            c
        - list
            item

        <!-- output -->

            printed

            the same block
        Prose

            unmarked

        ## Upgrading

            x
        ## Logs, settings and certificates
        ## Backups
        """)
    assert host_blocks(text) == [
        Block("Deploying", 7, "commands", "a \\\n    b\n\nc"),
        Block("Deploying", 16, "output", "printed\n\nthe same block"),
        Block("Deploying", 21, None, "unmarked"),
        Block("Upgrading", 25, None, "x"),
    ]


def test_a_session_runs_its_commands_only():
    block = Block("Backups", 1, "session", "# a=1\n# echo $a\n1\n# for n in 1; do\n      echo $n\n  done\n1")
    assert block.commands() == "a=1\necho $a\nfor n in 1; do\n      echo $n\n  done"


def test_used_and_set_variables_are_found():
    block = "export A=1 \\\n    B=2\nC=3 cmd \"$A\" ${B} $C $D '$E' # $F"
    assert used_variables(block) == {"A", "B", "C", "D"}
    assert set_variables(block) == {"A", "B", "C"}
    assert set_variables("set -a && . /etc/forwarding/litestream.env") == {"FORWARDING_REPLICA_URL"}
    assert set_variables("for a in 1; do read -rs -p 'P: ' b && echo; done") == {"a", "b"}


UNIT = """\
# a comment
[Unit]
Description=a unit

[Service]
Type=notify
User=root
SupplementaryGroups=root
EnvironmentFile={directory}/one.env
EnvironmentFile=-{directory}/missing.env
ExecStart=/bin/sh -c 'echo $$(date +%%Y) "a b"' \\
    last
KillSignal=SIGTERM
; another comment
"""


def test_a_unit_with_its_drop_ins_is_read_as_systemd_reads_it(tmp_path):
    (tmp_path / "one.env").write_text("# settings\nA=1\nB = 'two words'\n\nC=\"3\"\n")
    (tmp_path / "x.service").write_text(UNIT.format(directory=tmp_path))
    (tmp_path / "x.service.d").mkdir()
    (tmp_path / "x.service.d" / "b.conf").write_text(
        "[Service]\nSupplementaryGroups=\nSupplementaryGroups=daemon bin\n"
    )
    (tmp_path / "x.service.d" / "a.conf").write_text("[Service]\nKillSignal=SIGINT\nUser=nobody\n")
    unit = read_unit("x.service", tmp_path)
    assert unit["Service.SupplementaryGroups"] == ["daemon", "bin"]
    assert (last(unit, "User"), last(unit, "KillSignal"), last(unit, "Type")) == ("nobody", "SIGINT", "notify")
    assert last(unit, "Unit.Description") == "a unit"
    assert [command_line(value) for value in unit["Service.ExecStart"]] == [
        ["/bin/sh", "-c", 'echo $(date +%Y) "a b"', "last"]
    ]
    assert environment_file(tmp_path / "one.env") == {"A": "1", "B": "two words", "C": "3"}
    settings = process_settings(unit)
    assert {name: settings["env"][name] for name in ("A", "B", "C", "USER", "HOME")} == {
        "A": "1",
        "B": "two words",
        "C": "3",
        "USER": "nobody",
        "HOME": "/nonexistent",
    }
    assert (settings["cwd"], settings["umask"], settings["user"]) == ("/", 0o022, 65534)
    assert {1, 2} <= set(settings["extra_groups"])  # daemon and bin
    assert signal.Signals[last(unit, "KillSignal")] == signal.SIGINT


@pytest.mark.parametrize("value", ["-/bin/true", "/bin/echo %n", "/bin/echo $HOME", "/bin/echo ${HOME}"])
def test_what_the_readme_does_not_use_is_refused(value):
    with pytest.raises(Failed):
        command_line(value)


def test_an_empty_value_empties_a_list():
    unit = parse_unit(
        textwrap.dedent("""\
        [Service]
        ExecStart=/bin/a
        ExecStart=
        ExecStart=/bin/b
        """)
    )
    assert unit["Service.ExecStart"] == ["/bin/b"]


def test_a_missing_unit_is_named(tmp_path):
    with pytest.raises(Failed, match="Unit y.service not found"):
        read_unit("y.service", tmp_path)


def test_a_host_with_any_path_of_the_service_or_its_user_is_refused(tmp_path):
    (tmp_path / "etc").mkdir()
    paths = [f"{tmp_path}/etc/forwarding", f"{tmp_path}/etc/forwarding*.service"]
    assert not_fresh(paths, users=()) is None
    (tmp_path / "etc" / "forwarding-litestream.service").write_text("")
    assert not_fresh(paths, users=()) == f"{tmp_path}/etc/forwarding-litestream.service exists"
    assert not_fresh([], users=("root",)) == "a user 'root' exists"
    assert not_fresh([], users=("no-such-user-of-readme-host-run",)) is None


def test_the_run_refuses_every_path_of_the_service():
    assert {
        "/opt/forwarding",
        "/etc/forwarding",
        "/var/lib/forwarding",
        "/var/backups/forwarding",
        "/srv/forwarding-replica",
        "/etc/systemd/system/forwarding*.service",
    } <= set(CREATED)


def test_the_marker_lists_what_the_run_makes_and_undo_puts_the_host_back(tmp_path):
    host, marker = tmp_path / "host", tmp_path / "state" / "made.json"
    (host / "etc" / "sites").mkdir(parents=True)
    (host / "var" / "nginx").mkdir(parents=True)
    (host / "var" / "nginx" / "old").write_text("kept")
    hosts = host / "etc" / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    hosts.chmod(0o640)
    (host / "etc" / "sites" / "default").symlink_to("../available/default")
    (host / "unrelated").write_text("kept")
    made = record(
        marker,
        created=[f"{host}/opt", f"{host}/var/lost-*"],
        changed=[str(hosts), f"{host}/etc/sites/default", f"{host}/etc/absent.conf"],
        watched=[f"{host}/var/nginx"],
        users=(),
        processes=False,
    )
    assert json.loads(marker.read_text()) == made
    assert made["users"] == made["groups"] == [] and made["processes"] == {}

    # What a run does:
    (marker.parent / "workspace" / "upstream").mkdir(parents=True)
    (host / "opt" / "checkout").mkdir(parents=True)
    (host / "var" / "lost-20260101T000000Z" / "db").mkdir(parents=True)
    (host / "var" / "lost-20260102T000000Z").mkdir()
    hosts.write_text("127.0.0.1 localhost\n127.0.0.1 forwarding.example\n")
    hosts.chmod(0o644)
    (host / "etc" / "sites" / "default").unlink()
    (host / "etc" / "absent.conf").write_text("made")
    (host / "var" / "nginx" / "body").mkdir()
    (host / "var" / "nginx").chmod(0o700)

    undo(marker)
    assert sorted(path.relative_to(host).as_posix() for path in host.rglob("*")) == [
        "etc",
        "etc/hosts",
        "etc/sites",
        "etc/sites/default",
        "unrelated",
        "var",
        "var/nginx",
        "var/nginx/old",
    ]
    assert hosts.read_text() == "127.0.0.1 localhost\n"
    assert oct(hosts.stat().st_mode & 0o777) == "0o640"
    assert os.readlink(host / "etc" / "sites" / "default") == "../available/default"
    assert oct((host / "var" / "nginx").stat().st_mode & 0o777) == "0o755"
    assert (host / "var" / "nginx" / "old").read_text() == "kept"
    assert not marker.parent.exists()


def test_undo_goes_on_where_an_undo_cut_off_stopped(tmp_path):
    host, marker = tmp_path / "host", tmp_path / "state" / "made.json"
    host.mkdir()
    record(marker, created=[f"{host}/made"], changed=[], watched=[], users=(), processes=False)
    (host / "made").mkdir()
    (host / "made" / "file").write_text("")
    made = json.loads(marker.read_text())
    marker.write_text(json.dumps({**made, "watched": {f"{host}/gone": {}}}))  # fails part-way
    with pytest.raises(FileNotFoundError):
        undo(marker)
    assert not (host / "made").exists() and marker.exists()
    marker.write_text(json.dumps(made))
    undo(marker)
    assert not marker.parent.exists() and list(host.iterdir()) == []


def test_a_stale_state_directory_without_its_marker_is_replaced(tmp_path):
    marker = tmp_path / "state" / "made.json"
    (marker.parent / "saved").mkdir(parents=True)
    (marker.parent / "saved" / "0").write_text("from a run killed before its marker")
    made = record(marker, created=[], changed=[], watched=[], users=(), processes=False)
    assert sorted(os.listdir(marker.parent)) == ["made.json", "saved"] and made["changed"] == {}


@pytest.mark.parametrize("name", ["", ".", "..", "../etc", "a/b", "/etc", "a b", "-rf"])
def test_a_runtime_directory_is_a_plain_name_under_run(name):
    with pytest.raises(Failed, match="a plain name under /run only"):
        runtime_directory(name)


def test_a_runtime_directory_of_a_plain_name():
    assert str(runtime_directory("forwarding")) == "/run/forwarding"


def test_a_pid_is_the_service_only_while_its_start_time_is_the_one_recorded(tmp_path):
    pid_file = tmp_path / "x.service.pid"
    pid_file.write_text(str(os.getpid()))
    assert recorded_pid(pid_file) == os.getpid()  # no start time recorded: the pid alone
    (tmp_path / "x.service.started").write_text(str(started_at(os.getpid())))
    assert recorded_pid(pid_file) == os.getpid()
    (tmp_path / "x.service.started").write_text(str(started_at(os.getpid()) - 1))  # the number reused
    assert recorded_pid(pid_file) is None
    pid_file.write_text("0x")
    assert recorded_pid(pid_file) is None
    (tmp_path / "x.service.pid").unlink()
    assert recorded_pid(pid_file) is None
