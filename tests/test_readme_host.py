"""The README's blocks for the deployed host ("Deploying", "Upgrading", "Logs, settings and
certificates"): each runs on its own in a fresh shell, using no variable that another block
set, and each line that needs systemd as PID 1 says so (`# systemd`), so that a run where
systemd is not PID 1 knows what to replace."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("Deploying", "Upgrading", "Logs, settings and certificates")
SYSTEMD_MARK = "# systemd"


def section(text, heading):
    """The text of the `## heading` section, up to the next `## `."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def blocks(text):
    """Each indented code block of `text`, its lines without the indentation."""
    found, current = [], []
    for line in text.splitlines():
        if line.startswith("    ") and (current or not line.strip().startswith("-")):
            current.append(line[4:])
        elif current and not line.strip():
            current.append("")
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return ["\n".join(block).strip() for block in found]


def host_blocks():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [block for heading in SECTIONS for block in blocks(section(text, heading))]


def used_variables(block):
    """The shell variables `block` expands: single-quoted text (envsubst's list, sh -c's
    scripts) and comments are not expanded."""
    code = "\n".join(re.sub(r"'[^']*'", "", line).split(" #")[0] for line in block.splitlines())
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", code))


def set_variables(block):
    """The variables `block` sets: `NAME=value` at a command's start, or after `export`."""
    return set(re.findall(r"(?:^|[;&|(]\s*|export\s+|\\\n\s*|\s)([A-Za-z_][A-Za-z0-9_]*)=", block, re.MULTILINE))


def test_the_host_sections_have_blocks():
    assert len(host_blocks()) >= 10


@pytest.mark.parametrize("block", host_blocks())
def test_a_block_uses_only_the_variables_it_sets(block):
    assert used_variables(block) <= set_variables(block), block


@pytest.mark.parametrize("block", host_blocks())
def test_each_line_that_needs_systemd_is_marked(block):
    for line in block.splitlines():
        if re.search(r"\bsystemctl\b", line):
            assert line.rstrip().endswith(SYSTEMD_MARK), line


def test_used_and_set_variables_are_found():
    block = "export A=1 \\\n    B=2\nC=3 cmd \"$A\" ${B} $C $D '$E' # $F"
    assert used_variables(block) == {"A", "B", "C", "D"}
    assert set_variables(block) == {"A", "B", "C"}
