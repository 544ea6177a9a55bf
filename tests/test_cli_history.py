"""The operator's look-ups: `forwarding show N` and `forwarding history`."""

import json
import time

import pytest

from tests.helpers import item, push

START = 1796033704.12  # 2026-11-30T10:15:04.120Z: 11:15:04+01:00 in Berlin


@pytest.fixture
def berlin(monkeypatch):
    """The operator's local time zone is Europe/Berlin."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def rules(client, basic_auth, clock, berlin):
    """101 pushed by Link (link_id 7) with X-Request-ID case-4711, then 102 made alone a minute later."""
    clock.now = START
    pushed = client.post(
        "/api/v1/forward/items/link",
        json={"list_items": [item(7, 101, "sip:100@sip.bas-ip.com", "vizit:101")]},
        headers={**basic_auth, "X-Request-ID": "case-4711"},
    )
    assert pushed.status_code == 200
    clock.advance(60)
    posted = client.post("/api/v1/forward/item/102", json={"forward_entity_list": ["102"]}, headers=basic_auth)
    assert posted.status_code == 200
    return posted.headers["X-Request-ID"]


def test_show_a_rule_with_its_link_id(runner, rules):
    result = runner.invoke(args=["show", "101"])
    assert (result.exit_code, result.output) == (
        0,
        "forward_number  link_id  forward_entity_list\n           101        7  sip:100@sip.bas-ip.com, vizit:101\n",
    )


def test_show_a_rule_without_one(runner, rules):
    result = runner.invoke(args=["show", "102"])
    assert (result.exit_code, result.output) == (
        0,
        "forward_number  link_id  forward_entity_list\n           102        -  102\n",
    )


def test_show_no_such_rule(runner, rules, db_path):
    result = runner.invoke(args=["show", "103"])
    assert (result.exit_code, result.output) == (1, f"Error: no rule for forward_number 103 in {db_path}\n")


@pytest.mark.parametrize("number", ["0", "abc", str(2**63)])
def test_show_a_number_out_of_range(runner, number):
    result = runner.invoke(args=["show", number])
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        f"Error: FORWARD_NUMBER must be a whole number, from 1 to 9223372036854775807, not {number!r}\n",
    )


def test_history_in_local_time_newest_first(runner, rules, db_path):
    result = runner.invoke(args=["history"])
    request_id = rules
    width = len(request_id)
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"id  time                       source  {'request_id':<{width}}  forward_number  action   before"
        "  after\n"
        f" 2  2026-11-30 11:16:04+01:00  item    {request_id}             102  created  -       102\n"
        f" 1  2026-11-30 11:15:04+01:00  link    {'case-4711':<{width}}             101  created  -      "
        " sip:100@sip.bas-ip.com, vizit:101 (link_id 7)\n"
        f"2 changes in {db_path}.\n"
    )


def test_history_filters_and_limit(runner, client, basic_auth, rules, tmp_path, db_path):
    push(client, basic_auth, item(7, 101, "vizit:101"))
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"version": 1, "items": [{"forward_number": 101, "forward_entity_list": ["1"]}]}))
    assert runner.invoke(args=["import", str(path)]).exit_code == 0

    result = runner.invoke(args=["history", "--number", "101", "--limit", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == ["4", "3"]
    assert lines[1].split()[3:] == [
        "import",
        "-",
        "101",
        "updated",
        "vizit:101",
        "(link_id",
        "7)",
        "1",
        "(link_id",
        "7)",
    ]
    assert lines[-1] == f"2 of 3 changes in {db_path}."
    assert runner.invoke(args=["history", "--link-id", "7"]).output.endswith(f"\n3 changes in {db_path}.\n")
    assert runner.invoke(args=["history", "--link-id", "8"]).output == f"No changes in {db_path}.\n"
    assert runner.invoke(args=["history", "--number", "102", "--link-id", "7"]).output == f"No changes in {db_path}.\n"


def test_history_of_nothing(runner, db_path):
    result = runner.invoke(args=["history"])
    assert (result.exit_code, result.output) == (0, f"No changes in {db_path}.\n")


@pytest.mark.parametrize("args", [["--limit", "0"], ["--limit", "1001"], ["--number", "0"], ["--link-id", "x"]])
def test_history_refuses_bad_options(runner, args):
    assert runner.invoke(args=["history", *args]).exit_code == 2
