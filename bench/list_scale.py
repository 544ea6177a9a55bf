"""Does a page cost the same at any depth? First- and last-page latency of both lists.

Fills the service's own database (its schema, straight through sqlite3) with 1,000, then 10,000,
then 100,000 rules (then 100,000 again with 8 entries each instead of 3), and times
`GET /api/v1/forward/items` and `GET /api/v1/forward/items/link`
through the WSGI app in-process, at `limit=100` as real clients page. The floor is the first
page, measured in the same run: the target is the last page within 5x of it.

    .venv/bin/python -m bench.list_scale [--smoke]

`--smoke` times each page once at the smallest size, to show that the benchmark still works.
"""

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from contextlib import closing

from forwarding.factory import create_app
from forwarding.storage import Storage
from forwarding.storage import rules as storage_rules

from .wsgi_calls import bearer

# (rules, entries per rule): three entries, as a Link push has them, then the largest again with
# the panel's limit of 8, to show that a row's width does not matter.
CASES = ((1_000, 3), (10_000, 3), (100_000, 3), (100_000, 8))
LIMIT = 100
RUNS = 9
TARGET = 5.0
LISTS = {"items": "/api/v1/forward/items", "items/link": "/api/v1/forward/items/link"}
ENTRY_FORMS = ("{}", "sip:{}@sip.bas-ip.com", "vizit:{}", "laskomex:{}", "sip:{}@192.168.1.2")


def rule(number, entries):
    """A rule of `entries` entries of mixed patterns; nine rules in ten came from Link."""
    entities = [ENTRY_FORMS[i % len(ENTRY_FORMS)].format(number + i) for i in range(entries)]
    return number, (number if number % 10 else None), json.dumps(entities)


def fill(path, rules, entries):
    """Rules 1 .. `rules`, written straight into the service's schema in one transaction."""
    with closing(Storage(path)) as repo:
        repo.database.connection.execute("BEGIN")
        repo.database.connection.executemany(
            "INSERT OR REPLACE INTO rules (forward_number, link_id, entities) VALUES (?, ?, ?)",
            (rule(number, entries) for number in range(1, rules + 1)),
        )
        repo.database.connection.execute("COMMIT")


def get(client, headers, url):
    """One request: (milliseconds, body)."""
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.get_data(as_text=True)
    return elapsed_ms, response.get_json()


def first_and_last_ms(client, headers, path, runs):
    """Median latency of the first and of the last page, timed in turns so both see the same load."""
    first_url = f"{path}?limit={LIMIT}&page_number=1"
    last_page = get(client, headers, first_url)[1]["list_option"]["pagination"]["total_pages"]
    last_url = f"{path}?limit={LIMIT}&page_number={last_page}"
    assert get(client, headers, last_url)[1]["list_items"], "the last page came back empty"
    firsts, lasts = [], []
    for _ in range(runs):
        firsts.append(get(client, headers, first_url)[0])
        lasts.append(get(client, headers, last_url)[0])
    return statistics.median(firsts), statistics.median(lasts)


def print_plans(path):
    """How SQLite runs each list's statements: every step should name an index, none the bare table."""
    print("query plans (EXPLAIN QUERY PLAN):")
    statements = [
        ("count all", storage_rules.COUNT_ALL),
        ("count link", storage_rules.COUNT_LINKED),
        ("page all asc", storage_rules.PAGE),
        ("page all desc", storage_rules.PAGE_DESCENDING),
        ("page link asc", storage_rules.LINKED_PAGE),
        ("page link desc", storage_rules.LINKED_PAGE_DESCENDING),
    ]
    with closing(Storage(path)) as repo:
        for name, sql in statements:
            plan = repo.database.connection.execute("EXPLAIN QUERY PLAN " + sql, {"offset": 0, "limit": 1}).fetchall()
            print(f"  {name:<15} " + " / ".join(step for _, _, _, step in plan))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="one run of the smallest size: does it still work?")
    args = parser.parse_args()
    cases, runs = (CASES[:1], 1) if args.smoke else (CASES, RUNS)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "bench.db")
        logging.disable(logging.WARNING)  # the factory-password warning would cut into the table
        app = create_app({"DATABASE": path})
        client = app.test_client()
        headers = bearer(app)

        print(f"limit={LIMIT}, median of {runs} runs, in-process WSGI; target: last page within {TARGET:g}x the first")
        print(f"{'rules':>8} {'entries':>7}  {'list':<12} {'first ms':>9} {'last ms':>9} {'last/first':>10}")
        worst = 0.0
        for rules, entries in cases:
            fill(path, rules, entries)
            for name, list_path in LISTS.items():
                first_ms, last_ms = first_and_last_ms(client, headers, list_path, runs)
                ratio = last_ms / first_ms
                worst = max(worst, ratio)
                print(f"{rules:>8,} {entries:>7}  {name:<12} {first_ms:>9.2f} {last_ms:>9.2f} {ratio:>9.2f}x")
        print_plans(path)
    print(f"worst last/first: {worst:.2f}x ({'meets' if worst <= TARGET else 'MISSES'} the {TARGET:g}x target)")


if __name__ == "__main__":
    main()
