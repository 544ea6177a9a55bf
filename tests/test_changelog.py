"""CHANGELOG.md: one section per release, the newest first and the one this code is."""

import re
from pathlib import Path

import forwarding

CHANGELOG = Path(__file__).resolve().parents[1] / "CHANGELOG.md"


def releases():
    return re.findall(r"^## (\S+)$", CHANGELOG.read_text(encoding="utf-8"), re.MULTILINE)


def test_the_newest_section_is_this_release():
    assert releases()[0] == forwarding.__version__


def test_each_release_has_one_section_newest_first():
    assert releases() == ["1.2.0", "1.1.0", "1.0.0"]
