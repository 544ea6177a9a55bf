"""Does a long history slow down the look-up of one rule's changes, or the writes that prune it?

    .venv/bin/python -m bench.history_scale [--smoke]

Fills the history table of the service's own database (its schema, straight through sqlite3)
with 10,000, then 100,000, then 1,000,000 records (`--smoke`: 1,000 and 10,000), 20 changes
to each of the rules 1 .. records/20, nine rules in ten with a link_id, and with
FORWARDING_HISTORY_LIMIT as large as the history, times through the WSGI app in-process:

- `GET /api/v1/forward/history?forward_number=N` (one rule's 20 changes), `?link_id=L`, both
  filters at once, and the unfiltered first page, all at the default limit of 100;
- a single-rule write (`POST /api/v1/forward/item/N`), which records one change and prunes one,
  the history being full: its cost must not grow with the history.

Medians of the runs; the floor is the same requests on the smallest history, in the same run
(`x floor`: the largest history's time over it). The target is a filtered page within a few
milliseconds at 1,000,000 records. The query plans show which index each filter uses.
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

from .wsgi_calls import bearer, call, environ_for

CHANGES_PER_RULE = 20
INSERT = (
    "INSERT INTO history (time_ms, source, request_id, forward_number, before_link_id, before_entities,"
    " after_link_id, after_entities) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
RUNS = 21
TARGET_MS = 5.0


def link_id_of(number):
    return None if number % 10 == 0 else number + 1_000_000


def records(start, stop, rules):
    """History rows `start` .. `stop - 1` (1-based) about rules 1 .. `rules`, going round them, so
    that each rule's changes are spread over the whole history: each created, then updated."""
    for record in range(start, stop):
        number = record % rules + 1
        link_id = link_id_of(number)
        before = None if record <= rules else json.dumps([str(record - rules), f"vizit:{number}"])
        after = json.dumps([str(record), f"vizit:{number}"])
        yield (
            1_796_000_000_000 + record,
            storage_rules.Source.LINK.value,
            f"{record:032x}",
            number,
            None if before is None else link_id,
            before,
            link_id,
            after,
        )


def fill(path, size, rules):
    """A history of exactly `size` records, written in one transaction."""
    with closing(Storage(path)) as repo:
        repo.database.connection.execute("BEGIN")
        repo.database.connection.execute("DELETE FROM history")
        repo.database.connection.executemany(INSERT, records(1, size + 1, rules))
        repo.database.connection.execute("COMMIT")


def timed(app, headers, url, method="GET", body=None):
    """Milliseconds for one request, and its JSON answer."""
    environ = environ_for(url, method=method, headers=headers, data=body, content_type="application/json")
    started = time.perf_counter()
    status, answer = call(app, environ)
    elapsed = (time.perf_counter() - started) * 1000
    assert status == 200, answer[:300]
    return elapsed, json.loads(answer)


def median_ms(app, headers, url, check=None, method="GET", body=None):
    times = []
    for _ in range(RUNS):
        elapsed, answer = timed(app, headers, url, method, body)
        if check:
            check(answer)
        times.append(elapsed)
    return statistics.median(times)


FILTERS = {"none": {}, "forward_number": {"number": 1}, "link_id": {"link_id": 1}}
FILTERS["forward_number+link_id"] = {**FILTERS["forward_number"], **FILTERS["link_id"]}


def print_plans(path, size):
    print("query plans (EXPLAIN QUERY PLAN) of a page:")
    with closing(Storage(path, history_limit=size)) as repo:
        for name, filters in FILTERS.items():
            count, page = storage_rules.history_statements(**filters)
            values = {"number": 1, "link_id": 1, "keep": size, "limit": 100, "offset": 0}
            for what, sql in (("count", count), ("page", f"SELECT id FROM history {page}")):
                plan = repo.database.connection.execute("EXPLAIN QUERY PLAN " + sql, values).fetchall()
                print(f"  {what} {name:<22} " + " / ".join(step for _, _, _, step in plan))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, a few seconds: does it run")
    args = parser.parse_args()
    sizes = (1_000, 10_000) if args.smoke else (10_000, 100_000, 1_000_000)
    logging.disable(logging.WARNING)  # the factory-password warning and the request log
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "bench.db")
        print(f"median of {RUNS} runs, in-process WSGI, limit=100; target: a filtered page within {TARGET_MS:g} ms")
        columns = ("records", 9), ("by number", 10), ("by link_id", 11), ("by both", 8), ("unfiltered", 11)
        print(" ".join(f"{name:>{width}}" for name, width in (*columns, ("write ms", 9))))
        worst = 0.0
        rows = []
        for size in sizes:
            rules = size // CHANGES_PER_RULE
            app = create_app({"DATABASE": path, "HISTORY_LIMIT": size})  # the schema, on the first
            headers = bearer(app)
            fill(path, size, rules)
            number = rules // 2 + 1
            link_id = link_id_of(number) or link_id_of(number + 1)
            number = number if link_id_of(number) else number + 1

            def one_rules(answer, number=number):
                numbers = [change["forward_number"] for change in answer["list_items"]]
                assert numbers == [number] * CHANGES_PER_RULE, numbers

            def a_full_page(answer):
                assert len(answer["list_items"]) == 100

            history = "/api/v1/forward/history"
            by_number = median_ms(app, headers, f"{history}?forward_number={number}", one_rules)
            by_link = median_ms(app, headers, f"{history}?link_id={link_id}", one_rules)
            by_both = median_ms(app, headers, f"{history}?forward_number={number}&link_id={link_id}", one_rules)
            unfiltered = median_ms(app, headers, history, a_full_page)
            write = median_write_ms(app, headers, number)
            worst = max(worst, by_number, by_link, by_both)
            rows.append((by_number, by_link, by_both, unfiltered, write))
            print(f"{size:>9,} {by_number:>10.2f} {by_link:>11.2f} {by_both:>8.2f} {unfiltered:>11.2f} {write:>9.2f}")
        # The floor: the same requests on the smallest history, in the same run.
        ratios = [largest / smallest for largest, smallest in zip(rows[-1], rows[0])]
        print(f"{'x floor':>9} " + " ".join(f"{ratio:>{width}.2f}" for ratio, width in zip(ratios, (10, 11, 8, 11, 9))))
        print_plans(path, sizes[-1])
    verdict = "meets" if worst <= TARGET_MS else "MISSES"
    print(f"worst filtered page: {worst:.2f} ms ({verdict} the {TARGET_MS:g} ms target)")
    print(json.dumps({"worst_filtered_ms": round(worst, 2), "largest_over_smallest": [round(r, 2) for r in ratios]}))


def median_write_ms(app, headers, number):
    """A single-rule write that records one change and, the history being full, prunes one."""
    times = []
    for run in range(RUNS):
        body = json.dumps({"forward_entity_list": [str(run + 1)]})
        times.append(timed(app, headers, f"/api/v1/forward/item/{number}", "POST", body)[0])
    return statistics.median(times)


if __name__ == "__main__":
    main()
