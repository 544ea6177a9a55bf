"""The README's reference of the `forwarding` command is each command's `--help` as it is now.

The README generates it with cog (its `[[[cog` block); this runs cog's check on the README, so a
command changed without the README regenerated fails here, with the difference."""

import io
from pathlib import Path

from cogapp import Cog

README = Path(__file__).resolve().parents[1] / "README.md"
REGENERATE = "cog -r README.md"


def test_the_readme_has_the_reference():
    text = README.read_text(encoding="utf-8")
    assert text.count("<!-- [[[cog") == 1
    assert text.count("<!-- [[[end]]] -->") == 1
    generated = text.split("]]] -->\n", 1)[1].split("<!-- [[[end]]] -->", 1)[0]
    for line in ("$ forwarding --help", "$ forwarding init --help", "$ forwarding set-password --help"):
        assert f"\n{line}\nUsage: forwarding " in generated


def test_the_reference_is_the_help_of_today():
    output = io.StringIO()
    cog = Cog()
    cog.set_output(stdout=output, stderr=output)
    status = cog.main(["cog", "--check", "--diff", "--check-fail-msg", f"run `{REGENERATE}`", str(README)])
    problem = f"README.md's `forwarding` reference is not the commands' --help: run `{REGENERATE}`"
    assert status == 0, f"{problem}\n{output.getvalue()}"
