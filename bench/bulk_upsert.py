"""Bulk Link pushes through the WSGI app, against the floor of the work no implementation avoids.

    .venv/bin/python -m bench.bulk_upsert [--runs 7] [--sizes 1000,10000,50000] [--smoke] [--history-limit N]

`--history-limit 0` runs the service with its history of changes off (FORWARDING_HISTORY_LIMIT=0);
by default it keeps the service's default, so every push also writes one record per rule.

For each size, a `POST /api/v1/forward/items/link` of that many items (three entries each, every
kind of pattern) goes through the Flask app in this process, authenticated with a login token,
against a floor run on the same body: `json.loads`, the five patterns on every entry
(forwarding.limits), and one SQLite transaction writing the same rows with the service's
schema and pragmas (WAL, synchronous=FULL). Both keep their database connection open between
runs, as a uWSGI worker does.

Two cases: `created`, each run on fresh databases (every item answers `created`), and `updated`,
the same push again onto databases that hold those rules (every item answers `updated`). Service
and floor runs alternate; the times are medians, and the ratio is the median of the runs' own
ratios, so that the speed of a disk shared with other work weighs on both alike.

Peak memory growth is the rise of the resident set's high-water mark (VmHWM, reset through
/proc/self/clear_refs) during one `created` request, in a fresh subprocess: unlike tracemalloc it
counts SQLite's own allocations and the allocator's overhead, what the machine has to provide.

The last line is the 10,000-item `created` figure as JSON. `--smoke` makes one run of the
smallest size, to show that the benchmark still works (CI runs it so).
"""

import argparse
import gc
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from forwarding.factory import create_app
from forwarding.limits import HISTORY_LIMIT, is_forward_entity
from forwarding.storage import Storage

from .wsgi_calls import bearer, call, environ_for

UPSERT = "INSERT OR REPLACE INTO rules (forward_number, link_id, entities) VALUES (?, ?, ?)"

# One maker per kind of entry; item i takes three kinds in turn, so every kind is well represented.
_ENTRY_KINDS = (
    lambda i: str(1000 + i % 9000),
    lambda i: f"laskomex:{i % 100}",
    lambda i: f"vizit:{i % 100}",
    lambda i: f"sip:{i}@sip.bas-ip.com",
    lambda i: f"sip:apt{i % 500}@10.0.{i // 256 % 256}.{i % 256}",
    lambda i: f"sip:192.168.{i // 256 % 256}.{i % 256}",
)


def make_body(n):
    items = [
        {
            "link_id": i + 1,
            "forward_number": 100 + i,
            "forward_entity_list": [_ENTRY_KINDS[(i + k) % len(_ENTRY_KINDS)](i) for k in range(3)],
        }
        for i in range(n)
    ]
    return json.dumps({"list_items": items}).encode()


# -- the service ------------------------------------------------------------------------------


class Service:
    """The app on a fresh database in its own directory, logged in."""

    history_limit = HISTORY_LIMIT  # the service's setting; main() sets it from --history-limit

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="bench-bulk-")
        database = os.path.join(self.directory, "forwarding.db")
        self.app = create_app({"DATABASE": database, "HISTORY_LIMIT": self.history_limit})
        self.headers = bearer(self.app)

    def push_environ(self, body):
        return environ_for(
            "/api/v1/forward/items/link",
            method="POST",
            data=body,
            content_type="application/json",
            headers=self.headers,
        )

    def push(self, body, expected):
        """Milliseconds for one push; checks that every element got `expected`."""
        environ = self.push_environ(body)
        start = time.perf_counter()
        status, answer = call(self.app, environ)
        elapsed = time.perf_counter() - start
        results = json.loads(answer)["result"] if status == 200 else answer
        assert status == 200 and all(r["extended_info"] == expected for r in results), (status, answer[:200])
        return elapsed * 1000

    def close(self):
        shutil.rmtree(self.directory)


# -- the floor --------------------------------------------------------------------------------


def floor(body, storage):
    """Milliseconds for the unavoidable work: parse, check every entry, write the rows in one commit.

    It writes through `storage`'s connection but not its methods, which also read each rule first to
    answer `created` or `updated`: that is the service's work, not the floor's."""
    db = storage.database.connection
    start = time.perf_counter()
    rows = []
    for item in json.loads(body)["list_items"]:
        entities = item["forward_entity_list"]
        if not all(map(is_forward_entity, entities)):
            raise ValueError(entities)
        # The patterns admit no character that JSON escapes, so this is json.dumps's exact text.
        rows.append((item["forward_number"], item["link_id"], '["' + '", "'.join(entities) + '"]'))
    db.execute("BEGIN IMMEDIATE")
    db.executemany(UPSERT, rows)
    db.execute("COMMIT")
    return (time.perf_counter() - start) * 1000


# -- one size ---------------------------------------------------------------------------------


def _databases(body, case):
    """The service, and a Storage on the floor's database beside it; for `updated`, both hold the rules.

    The caller keeps the Storage, not just its connection: a Storage closes its connection
    when it is dropped."""
    service = Service()
    floor_storage = Storage(os.path.join(service.directory, "floor.db"))
    floor_storage.database.prepare(make_account=lambda: ("admin", "unused"), make_serial=lambda: "BENCH")
    if case == "updated":
        service.push(body, "created")
        floor(body, floor_storage)
    return service, floor_storage


def measure(body, case, runs):
    """`(service ms, floor ms)` of each run; for `created`, each run on fresh databases."""
    pairs = []
    service, floor_storage = _databases(body, case)
    try:
        for run in range(runs):
            if run and case == "created":
                floor_storage.close()
                service.close()
                service, floor_storage = _databases(body, case)
            # Alternate which goes first, so that neither always meets a cold or a busy machine.
            if run % 2:
                floor_ms = floor(body, floor_storage)
            service_ms = service.push(body, case)
            if not run % 2:
                floor_ms = floor(body, floor_storage)
            pairs.append((service_ms, floor_ms))
    finally:
        floor_storage.close()
        service.close()
    return pairs


def status_kib(name):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise LookupError(name)


def peak_growth_here(n):
    """Bytes the resident set's peak rises by during one `created` push of n items (this process)."""
    body = make_body(n)
    service = Service()
    environ = service.push_environ(body)
    try:
        gc.collect()
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # resets VmHWM to the current resident set
        before = status_kib("VmRSS")
        status, _ = call(service.app, environ)
        assert status == 200
        return (status_kib("VmHWM") - before) * 1024
    finally:
        service.close()


def peak_growth(n):
    """`peak_growth_here(n)` in a fresh interpreter, so that earlier runs leave nothing behind."""
    command = [
        sys.executable,
        "-m",
        __spec__.name,
        "--memory-of",
        str(n),
        "--history-limit",
        str(Service.history_limit),
    ]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return int(out.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per figure, at least 5 (medians are shown)")
    parser.add_argument("--sizes", default="1000,10000,50000", help="items per request, comma-separated")
    parser.add_argument("--smoke", action="store_true", help="one run of the smallest size: does it still work?")
    parser.add_argument(
        "--history-limit", type=int, default=HISTORY_LIMIT, help="the service's FORWARDING_HISTORY_LIMIT; 0: no history"
    )
    parser.add_argument("--memory-of", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    Service.history_limit = args.history_limit
    logging.disable(logging.WARNING)  # the factory-password warning of every fresh database
    if args.memory_of:
        print(peak_growth_here(args.memory_of))
        return

    sizes = [int(size) for size in args.sizes.split(",")]
    if args.smoke:
        sizes, args.runs = [min(sizes)], 1
    print(f"medians of {args.runs} runs (ratio: of each run's service / floor); memory: peak RSS growth of one request")
    print(f"history of changes: {'off' if not args.history_limit else f'on, keeping {args.history_limit:,}'}")
    columns = ("items", 6), ("case", 8), ("body MB", 8), ("service ms", 11), ("floor ms", 9), ("ratio", 6)
    print(" ".join(f"{name:>{width}}" for name, width in (*columns, ("peak MB", 8), ("x body", 7))))
    headline = None
    for n in sizes:
        body = make_body(n)
        growth = peak_growth(n)
        for case in ("created", "updated"):
            pairs = measure(body, case, args.runs)
            service_ms = statistics.median(service for service, _ in pairs)
            floor_ms = statistics.median(floor_ for _, floor_ in pairs)
            ratio = statistics.median(service / floor_ for service, floor_ in pairs)
            memory = f" {growth / 2**20:8.1f} {growth / len(body):7.1f}" if case == "created" else ""
            print(f"{n:>6} {case:>8} {len(body) / 2**20:8.2f} {service_ms:11.1f} {floor_ms:9.1f} {ratio:6.2f}{memory}")
            if case == "created" and (headline is None or n == 10000):
                headline = {
                    "items": n,
                    "service_ms": round(service_ms, 1),
                    "floor_ms": round(floor_ms, 1),
                    "ratio": round(ratio, 2),
                }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
