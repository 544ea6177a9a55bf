"""The commands on the rules: `forwarding export`, `import` and `list`."""

import json
import os
import pathlib
import stat

import pytest

from forwarding import rulefile
from tests.conftest import AppCliRunner
from tests.helpers import stored_rules

RULES = [
    {"link_id": 7, "forward_number": 101, "forward_entity_list": ["101", "vizit:1"]},
    {"link_id": 8, "forward_number": 223, "forward_entity_list": ["sip:223@sip.bas-ip.com"]},
]
EXPORTED = (
    '{"version": 1, "items": [\n'
    '  {"link_id": 7, "forward_number": 101, "forward_entity_list": ["101", "vizit:1"]},\n'
    '  {"forward_number": 102, "forward_entity_list": ["laskomex:5"]},\n'
    '  {"link_id": 8, "forward_number": 223, "forward_entity_list": ["sip:223@sip.bas-ip.com"]}\n'
    "]}\n"
)
STORED = {
    101: (7, ["101", "vizit:1"]),
    102: (None, ["laskomex:5"]),
    223: (8, ["sip:223@sip.bas-ip.com"]),
}

# What an entry may be, as an import's error says it.
ENTRIES = (
    "a list of at most 8 forward numbers, each digits (101), laskomex:N, vizit:N or a SIP URI"
    " (sip:100@sip.bas-ip.com, sip:192.168.1.2; the patterns: docs/api.md, section 3.1)"
)
# What `import` says it takes, as an operator reads it (written out: the command's own text is checked).
FORMATS = (
    '`forwarding import` takes an export, {"version": 1, "items": [{"link_id": 1, "forward_number": 101,'
    ' "forward_entity_list": ["101"]}]}, or a panel forward table, {"count": 1, "items": [{"apartment": 101,'
    ' "forward_numbers": ["101"]}], "version": 1}'
)


@pytest.fixture
def rules(client, basic_auth):
    """Three rules put through the API: two from a Link push, one without a link_id."""
    assert client.post("/api/v1/forward/items/link", json={"list_items": RULES}, headers=basic_auth).status_code == 200
    assert (
        client.post(
            "/api/v1/forward/item/102", json={"forward_entity_list": ["laskomex:5"]}, headers=basic_auth
        ).status_code
        == 200
    )


def write(path, document):
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


# -- export --------------------------------------------------------------------------------------


def test_export_to_stdout(runner, rules, db_path):
    result = runner.invoke(args=["export"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, EXPORTED, f"Exported 3 rules from {db_path}.\n")


def test_export_to_a_file(runner, rules, tmp_path, db_path):
    path = str(tmp_path / "backup.json")
    result = runner.invoke(args=["export", "--output", path])
    assert (result.exit_code, result.stdout) == (0, f"Exported 3 rules from {db_path} to {path}.\n")
    assert pathlib.Path(path).read_text() == EXPORTED


def test_export_of_nothing(runner):
    result = runner.invoke(args=["export"])
    assert (result.exit_code, result.stdout) == (0, '{"version": 1, "items": []}\n')
    assert json.loads(result.stdout) == {"version": 1, "items": []}


# -- import --------------------------------------------------------------------------------------


def test_export_then_import_restores(runner, rules, repo, tmp_path, db_path):
    path = str(tmp_path / "backup.json")
    runner.invoke(args=["export", "-o", path])
    repo.database.connection.execute("DELETE FROM rules")
    result = runner.invoke(args=["import", path])
    assert (result.exit_code, result.stdout) == (
        0,
        f"Imported 3 rules from {path} (export) into {db_path}: 3 created, 0 updated, 0 unchanged, 0 removed.\n",
    )
    assert stored_rules(repo) == STORED


def test_import_merges(runner, rules, repo, tmp_path, db_path):
    path = write(
        tmp_path / "ours.json",
        {
            "version": 1,
            "items": [
                {"forward_number": 101, "forward_entity_list": ["555"]},  # keeps its link_id 7
                {"link_id": 8, "forward_number": 300, "forward_entity_list": ["300"]},  # link_id 8 moves: 223 goes
                {"forward_number": 102, "forward_entity_list": []},  # removed
                {"forward_number": 999, "forward_entity_list": []},  # nothing to remove
                {"link_id": 9, "forward_number": 400, "forward_entity_list": ["vizit:4"], "note": "ignored"},
            ],
        },
    )
    result = runner.invoke(args=["import", path])
    assert (result.exit_code, result.stdout) == (
        0,
        # 102 emptied and 223, whose link_id moved to 300: two removed; 999 was not there and is not.
        f"Imported 5 rules from {path} (export) into {db_path}: 2 created, 1 updated, 1 unchanged, 2 removed.\n",
    )
    assert stored_rules(repo) == {101: (7, ["555"]), 300: (8, ["300"]), 400: (9, ["vizit:4"])}


def test_import_legacy_forward_table(runner, rules, repo, tmp_path, db_path):
    path = write(
        tmp_path / "panel.json",
        {
            "count": 2,
            "items": [
                {"apartment": 101, "forward_numbers": ["77469"]},
                {"apartment": 5, "forward_numbers": ["sip:192.168.1.2", "laskomex:10"]},
            ],
            "version": 1,
        },
    )
    result = runner.invoke(args=["import", path])
    assert (result.exit_code, result.stdout) == (
        0,
        f"Imported 2 rules from {path} (legacy forward table) into {db_path}:"
        " 1 created, 1 updated, 0 unchanged, 0 removed.\n",
    )
    assert stored_rules(repo) == {**STORED, 5: (None, ["sip:192.168.1.2", "laskomex:10"]), 101: (7, ["77469"])}


def test_import_replace(runner, rules, repo, tmp_path, db_path):
    path = write(
        tmp_path / "panel.json", {"count": 1, "items": [{"apartment": 102, "forward_numbers": ["1"]}], "version": 1}
    )
    result = runner.invoke(args=["import", "--replace", path])
    assert (result.exit_code, result.stdout) == (
        0,
        f"Imported 1 rule from {path} (legacy forward table) into {db_path}, replacing every rule:"
        " 0 created, 1 updated, 0 unchanged, 2 removed.\n",
    )
    assert stored_rules(repo) == {102: (None, ["1"])}


def test_import_from_stdin(runner, repo, db_path):
    document = {"version": 1, "items": [{"forward_number": 1, "forward_entity_list": ["2"]}]}
    result = runner.invoke(args=["import", "-"], input=json.dumps(document))
    assert (result.exit_code, result.stdout) == (
        0,
        f"Imported 1 rule from stdin (export) into {db_path}: 1 created, 0 updated, 0 unchanged, 0 removed.\n",
    )
    assert stored_rules(repo) == {1: (None, ["2"])}


def _legacy(*items):
    return {"count": len(items), "items": list(items), "version": 1}


GOOD = {"apartment": 1, "forward_numbers": ["1"]}
NINE = [str(n) for n in range(9)]


@pytest.mark.parametrize(
    "document, message",
    [
        ("", f"the file is empty; {FORMATS}"),
        (" \n\t\n", f"the file is empty; {FORMATS}"),
        ("{", f"not JSON: Expecting property name enclosed in double quotes at line 1 column 2; {FORMATS}"),
        ('{"version": 1,\n "items": [}', f"not JSON: Expecting value at line 2 column 12; {FORMATS}"),
        ("rules of house 5\n", f"not JSON: Expecting value at line 1 column 1; {FORMATS}"),
        ("[]", f"neither an export nor a panel forward table, but a JSON array; {FORMATS}"),
        ('"items"', f"neither an export nor a panel forward table, but a JSON string; {FORMATS}"),
        (
            {"rules": [GOOD]},
            f"neither an export nor a panel forward table: no `version`, `items` or `count`; {FORMATS}",
        ),
        ({"items": []}, "`version` must be 1"),
        ({"version": 2, "items": []}, "`version` must be 1"),
        ({"version": True, "items": []}, "`version` must be 1"),
        ({"version": 1}, "`items` must be a list"),
        ({"count": 3, "items": [GOOD], "version": 1}, "`count` is 3 but there are 1 items"),
        (_legacy(GOOD, 5), "items[1] is not an object"),
        (_legacy(GOOD, {"forward_numbers": ["1"]}), "items[1]: no value for `apartment`"),
        (_legacy(GOOD, {"apartment": 2}), "items[1]: no value for `forward_numbers`"),
        (
            _legacy(GOOD, {"apartment": "2", "forward_numbers": ["1"]}),
            'items[1]: `apartment` must be an integer from 1 to 9223372036854775807, not "2"',
        ),
        (
            _legacy(GOOD, {"apartment": 2.0, "forward_numbers": ["1"]}),
            "items[1]: `apartment` must be an integer from 1 to 9223372036854775807, not 2.0",
        ),
        (
            _legacy(GOOD, {"apartment": True, "forward_numbers": ["1"]}),
            "items[1]: `apartment` must be an integer from 1 to 9223372036854775807, not true",
        ),
        (
            _legacy(GOOD, {"apartment": 2, "forward_numbers": ["1", "sip:x"]}),
            f'items[1]: `forward_numbers` must be {ENTRIES}, not ["1", "sip:x"]',
        ),
        (
            _legacy(GOOD, {"apartment": 2, "forward_numbers": NINE}),
            f'items[1]: `forward_numbers` must be {ENTRIES}, not ["0", "1", "2", "3", "4", "5", "6", "7", "8"]',
        ),
        (
            _legacy(GOOD, {"apartment": 2, "forward_numbers": ["1"]}, GOOD),
            "items[2]: `apartment` 1 is also in items[0]",
        ),
        (
            {"version": 1, "items": [{"link_id": 0, "forward_number": 1, "forward_entity_list": ["1"]}]},
            "items[0]: `link_id` must be an integer from 1 to 9223372036854775807, not 0",
        ),
        (
            {
                "version": 1,
                "items": [
                    {"link_id": 4, "forward_number": 1, "forward_entity_list": ["1"]},
                    {"link_id": 4, "forward_number": 2, "forward_entity_list": ["1"]},
                ],
            },
            "items[1]: `link_id` 4 is also in items[0]",
        ),
    ],
)
def test_a_bad_import_changes_nothing(runner, rules, repo, tmp_path, document, message):
    path = write(tmp_path / "bad.json", document)
    result = runner.invoke(args=["import", "--replace", path])
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"Error: {path}: {message}\n")
    assert stored_rules(repo) == STORED


def test_a_file_that_is_not_utf8_is_not_json(runner, rules, repo, tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"version": 1, "items": [], "note": "café"}'.encode("latin-1"))
    result = runner.invoke(args=["import", str(path)])
    assert (result.exit_code, result.stderr) == (1, f"Error: {path}: not JSON: not UTF-8 text; {FORMATS}\n")
    assert stored_rules(repo) == STORED


def test_the_formats_named_are_the_ones_taken(runner, repo, tmp_path):
    # The two examples of FORMATS, as an operator would copy them.
    export = '{"version": 1, "items": [{"link_id": 1, "forward_number": 101, "forward_entity_list": ["101"]}]}'
    table = '{"count": 1, "items": [{"apartment": 101, "forward_numbers": ["101"]}], "version": 1}'
    for kind, example in (("export", export), ("legacy forward table", table)):
        result = runner.invoke(args=["import", "-"], input=example)
        assert (result.exit_code, result.stdout.split(" into ")[0]) == (0, f"Imported 1 rule from stdin ({kind})")
    assert stored_rules(repo) == {101: (1, ["101"])}


def test_a_missing_file_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(args=["import", str(tmp_path / "none.json")])
    assert result.exit_code == 2
    assert f"File '{tmp_path / 'none.json'}' does not exist." in result.stderr


# -- list ----------------------------------------------------------------------------------------


def test_list(runner, rules, db_path):
    result = runner.invoke(args=["list"])
    assert (result.exit_code, result.stdout) == (
        0,
        (
            "forward_number  link_id  forward_entity_list\n"
            "           101        7  101, vizit:1\n"
            "           102        -  laskomex:5\n"
            "           223        8  sip:223@sip.bas-ip.com\n"
            f"3 rules in {db_path}.\n"
        ),
    )


def test_list_limit(runner, rules, db_path):
    result = runner.invoke(args=["list", "--limit", "1"])
    assert (result.exit_code, result.stdout) == (
        0,
        (
            "forward_number  link_id  forward_entity_list\n"
            "           101        7  101, vizit:1\n"
            f"1 of 3 rules in {db_path}.\n"
        ),
    )
    assert runner.invoke(args=["list", "--limit", "0"]).exit_code == 2


def test_list_of_nothing(runner, db_path):
    result = runner.invoke(args=["list"])
    assert (result.exit_code, result.stdout) == (0, f"No rules in {db_path}.\n")


# -- export over what is there -------------------------------------------------------------------


@pytest.fixture
def exports(tmp_path):
    """A directory of its own for the files exported (the test's database is in tmp_path)."""
    directory = tmp_path / "exports"
    directory.mkdir()
    return directory


def test_export_refuses_a_symbolic_link_and_leaves_its_target(runner, rules, exports):
    # Run as root, an export through a link planted by another user would overwrite any file.
    target = exports / "target"
    target.write_text("precious\n")
    link = exports / "backup.json"
    link.symlink_to(target)
    result = runner.invoke(args=["export", "-o", str(link)])
    assert (result.exit_code, result.output) == (1, f"Error: {link} is a symbolic link: not writing through it\n")
    assert target.read_text() == "precious\n"
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert sorted(path.name for path in exports.iterdir()) == ["backup.json", "target"]


def test_export_replaces_a_file_whole_keeping_its_mode(runner, rules, exports, db_path):
    path = exports / "backup.json"
    path.write_text("old\n")
    path.chmod(0o640)
    result = runner.invoke(args=["export", "-o", str(path)])
    assert (result.exit_code, result.stdout) == (0, f"Exported 3 rules from {db_path} to {path}.\n")
    assert path.read_text() == EXPORTED
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(path.name for path in exports.iterdir()) == ["backup.json"]


def test_an_export_that_fails_leaves_the_file_as_it_was(runner, rules, exports, monkeypatch):
    path = exports / "backup.json"
    path.write_text("old\n")

    def fail_half_way(rules, out):
        out.write('{"version": 1, "items": [')
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rulefile, "write", fail_half_way)
    result = runner.invoke(args=["export", "-o", str(path)])
    assert (result.exit_code, result.stderr) == (1, "Error: [Errno 28] No space left on device\n")
    assert path.read_text() == "old\n"
    assert sorted(path.name for path in exports.iterdir()) == ["backup.json"]


# -- the counts of an import are the history's -------------------------------------------------------


def history_records(repo):
    return repo.database.connection.execute("SELECT count(*) FROM history").fetchone()[0]


def test_an_import_of_the_rules_as_they_are_changes_nothing_and_says_so(runner, rules, repo, tmp_path, db_path):
    path = str(tmp_path / "backup.json")
    runner.invoke(args=["export", "-o", path])
    records = history_records(repo)
    result = runner.invoke(args=["import", path])
    assert (result.exit_code, result.stdout) == (
        0,
        f"Imported 3 rules from {path} (export) into {db_path}: 0 created, 0 updated, 3 unchanged, 0 removed.\n",
    )
    result = runner.invoke(args=["import", "--replace", path])
    assert (result.exit_code, result.stdout) == (
        0,
        f"Imported 3 rules from {path} (export) into {db_path}, replacing every rule:"
        " 0 created, 0 updated, 3 unchanged, 0 removed.\n",
    )
    assert history_records(repo) == records
    assert stored_rules(repo) == STORED


def test_an_import_replacing_counts_each_real_change_once(runner, rules, repo, tmp_path, db_path):
    as_it_is, changed = RULES[0], {"forward_number": 102, "forward_entity_list": ["laskomex:6"]}
    path = write(tmp_path / "two-changes.json", {"version": 1, "items": [as_it_is, changed]})
    records = history_records(repo)
    result = runner.invoke(args=["import", "--replace", path])
    assert (result.exit_code, result.stdout) == (
        0,
        f"Imported 2 rules from {path} (export) into {db_path}, replacing every rule:"
        " 0 created, 1 updated, 1 unchanged, 1 removed.\n",
    )
    assert history_records(repo) == records + 2  # 102 updated, 223 removed
    assert stored_rules(repo) == {101: (7, ["101", "vizit:1"]), 102: (None, ["laskomex:6"])}


def test_the_api_still_answers_updated_for_a_rule_as_it_is(client, rules, basic_auth):
    # As a panel does (docs/api.md, 4.1): the counts above are the command's alone.
    answer = client.post("/api/v1/forward/items/link", json={"list_items": RULES[:1]}, headers=basic_auth)
    assert answer.get_json() == {"result": [{"link_id": 7, "success": True, "extended_info": "updated"}]}


def test_the_counts_without_a_history(make_app, rules, repo, tmp_path, db_path):
    runner = AppCliRunner(make_app(HISTORY_LIMIT=0))
    path = write(tmp_path / "one.json", {"version": 1, "items": [{"forward_number": 102, "forward_entity_list": []}]})
    result = runner.invoke(args=["import", "--replace", path])
    assert (result.exit_code, result.stdout) == (
        0,
        f"Imported 1 rule from {path} (export) into {db_path}, replacing every rule:"
        " 0 created, 0 updated, 0 unchanged, 3 removed.\n",
    )
    assert stored_rules(repo) == {}
