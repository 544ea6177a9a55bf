"""The module map of docs/design.md ("## Module map") is the package's real import graph: every
module of forwarding/ is in it, nothing else is, and each row names exactly the package's
modules and the packages outside the standard library that the module imports (found with
`ast`, imports inside functions included). A failure prints the map of the code as it is."""

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "forwarding"
DESIGN = ROOT / "docs" / "design.md"
HEADING = "## Module map"
NONE = "-"


def modules(package=PACKAGE):
    """Every module of the package, as its path under it (`api.py`, `storage/rules.py`)."""
    return sorted(path.relative_to(package).as_posix() for path in package.rglob("*.py"))


def _path_of(parts, known):
    """The module that the dotted name `parts` (after `forwarding`) is, if any."""
    name = "/".join(parts)
    for path in (f"{name}.py", f"{name}/__init__.py" if name else "__init__.py"):
        if path in known:
            return path
    return None


def imports(source, path, known):
    """(the package's modules, the outside packages) that the module at `path` imports."""
    own, outside = set(), set()
    parts = path.removesuffix(".py").split("/")
    package = parts[:-1]  # what `.` means here: for an __init__.py, its own package

    def found(dotted):
        if dotted[0] != "forwarding":
            if dotted[0] not in sys.stdlib_module_names:
                outside.add(dotted[0])
            return
        for end in range(len(dotted), 0, -1):
            if module := _path_of(dotted[1:end], known):
                own.add(module)
                return
        raise AssertionError(f"{path} imports {'.'.join(dotted)}, which is not a module of the package")

    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found(alias.name.split("."))
        elif isinstance(node, ast.ImportFrom):
            # `.` is the module's package, `..` the one above it.
            base = ["forwarding", *package][: len(package) + 2 - node.level] if node.level else []
            base += node.module.split(".") if node.module else []
            for alias in node.names:
                # `from . import messages` imports a module; `from .errors import ApiError` a name.
                is_module = base[0] == "forwarding" and _path_of([*base[1:], alias.name], known)
                found([*base, alias.name] if is_module else base)
    own.discard(path)
    return own, outside


def graph(package=PACKAGE):
    """Each module: (the package's modules it imports, the outside packages it imports)."""
    known = set(modules(package))
    return {path: imports((package / path).read_text(encoding="utf-8"), path, known) for path in sorted(known)}


def read_map(text):
    """The map of a design document: {module: (what it holds, its modules, its outside packages)}."""
    section = text.split(f"\n{HEADING}\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 4, f"a row of the module map has {len(cells)} cells, not 4: {line}"
        module, holds, own, outside = cells
        assert module.count("`") == 2 and module not in rows, f"a module of the map twice or malformed: {line}"
        rows[module.strip("`")] = (holds, set(re.findall(r"`([^`]+)`", own)), set(re.findall(r"`([^`]+)`", outside)))
    return rows


def problems(the_map, the_graph):
    """What the map says that the code does not do, and what the code does that the map omits."""
    found = []
    for module in sorted(the_graph.keys() - the_map.keys()):
        found.append(f"{module} is not in the module map")
    for module in sorted(the_map.keys() - the_graph.keys()):
        found.append(f"the module map lists {module}, which does not exist")
    for module in sorted(the_graph.keys() & the_map.keys()):
        (own, outside), (_, allowed_own, allowed_outside) = the_graph[module], the_map[module]
        for kind, actual, allowed in (("module", own, allowed_own), ("package", outside, allowed_outside)):
            for name in sorted(actual - allowed):
                found.append(f"{module} imports the {kind} {name}, which the module map does not allow")
            for name in sorted(allowed - actual):
                found.append(f"the module map says that {module} imports the {kind} {name}, which it does not")
    return found


def table(the_graph, the_map):
    """The map of the code as it is, keeping what the map says each module holds."""

    def names(values):
        return ", ".join(f"`{value}`" for value in sorted(values)) or NONE

    lines = ["| module | holds | imports of the package | imports from outside the standard library |"]
    lines.append("|---|---|---|---|")
    for module, (own, outside) in the_graph.items():
        holds = the_map[module][0] if module in the_map else "?"
        lines.append(f"| `{module}` | {holds} | {names(own)} | {names(outside)} |")
    return "\n".join(lines)


def test_the_module_map_is_the_import_graph():
    the_map, the_graph = read_map(DESIGN.read_text(encoding="utf-8")), graph()
    found = problems(the_map, the_graph)
    assert not found, (
        "docs/design.md's module map differs from the code:\n"
        + "\n".join(found)
        + f"\n\nThe code's map (under {HEADING!r}; write what each new module holds):\n\n"
        + table(the_graph, the_map)
    )


# The check itself, on a package and a map made up for it: each kind of drift is found.

MAP = f"""# Design

{HEADING}

| module | holds | imports of the package | imports from outside the standard library |
|---|---|---|---|
| `__init__.py` | the factory | `web.py` | `flask` |
| `web.py` | the views | `store/__init__.py`, `store/rules.py` | `flask` |
| `store/__init__.py` | the storage | `store/rules.py` | - |
| `store/rules.py` | the rules | `store/__init__.py` | - |

## Next
"""


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "forwarding"
    (root / "store").mkdir(parents=True)
    (root / "__init__.py").write_text("from flask import Flask\n\nfrom . import web\n")
    (root / "web.py").write_text("import json\n\nimport flask\n\nfrom .store import Rules, rules\n")
    (root / "store" / "__init__.py").write_text("from .rules import Rules\n")
    (root / "store" / "rules.py").write_text("import sqlite3\n\n\ndef later():\n    from .. import store\n")
    return root


def test_a_true_map_passes(package):
    the_graph = graph(package)
    assert the_graph == {
        "__init__.py": ({"web.py"}, {"flask"}),
        "web.py": ({"store/__init__.py", "store/rules.py"}, {"flask"}),
        "store/__init__.py": ({"store/rules.py"}, set()),
        "store/rules.py": ({"store/__init__.py"}, set()),
    }
    assert problems(read_map(MAP), the_graph) == []


def test_a_module_missing_from_the_map_fails(package):
    (package / "store" / "tokens.py").write_text("")
    assert problems(read_map(MAP), graph(package)) == ["store/tokens.py is not in the module map"]


def test_a_module_listed_that_does_not_exist_fails(package):
    (package / "store" / "rules.py").unlink()
    (package / "store" / "__init__.py").write_text("")
    (package / "web.py").write_text("import flask\n\nfrom . import store\n")
    found = problems(read_map(MAP), graph(package))
    assert "the module map lists store/rules.py, which does not exist" in found  # and the rows that import it


def test_an_import_the_map_does_not_allow_fails(package):
    (package / "store" / "rules.py").write_text("import flask\n\nfrom .. import store, web\n")
    assert problems(read_map(MAP), graph(package)) == [
        "store/rules.py imports the module web.py, which the module map does not allow",
        "store/rules.py imports the package flask, which the module map does not allow",
    ]


def test_an_import_the_map_names_but_the_module_does_not_make_fails(package):
    (package / "store" / "rules.py").write_text("")
    assert problems(read_map(MAP), graph(package)) == [
        "the module map says that store/rules.py imports the module store/__init__.py, which it does not"
    ]
