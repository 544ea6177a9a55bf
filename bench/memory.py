"""Peak memory of one request, against the bound: 20x its body plus 40 MiB.

    .venv/bin/python -m bench.memory [--mib 16] [--cases a,b] [--smoke]

Each case is one request through the Flask app in a fresh interpreter (a subprocess), warmed
first by the same request made small, on a fresh database, authenticated with a login token.
The figure is the rise of the resident set's high-water mark (VmHWM, reset through
/proc/self/clear_refs) during the request, its answer included: unlike tracemalloc it counts
SQLite's own allocations and the allocator's overhead, what the machine has to provide.

The hostile cases fill a body of `--mib` MiB (16, the body limit, by default) with the cheapest
text for the most objects: the two of the security review (a DELETE of 8.4 million ids, 4
million floats under a key the service ignores) and the other kinds of JSON value. The plain
cases are what clients really send at the largest. `--smoke` is one short run: each case at 1 MiB.

The last line is the figures as JSON.
"""

import argparse
import gc
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import closing

from forwarding.factory import create_app
from forwarding.storage import Storage

from .bulk_upsert import make_body, status_kib
from .wsgi_calls import bearer, call, environ_for

MiB = 2**20
DELETE, PUSH = ("DELETE", "/api/v1/forward/items"), ("POST", "/api/v1/forward/items/link")


def _filled(head, element, tail, size):
    """`head`, then `element` repeated (comma-separated) to fill `size` bytes, then `tail`."""
    count = (size - len(head) - len(tail) + 1) // (len(element) + 1)
    return head + b",".join([element] * max(count, 1)) + tail


def _ignored(element):
    return lambda size: _filled(b'{"list_items":[],"ignored":[', element, b"]}", size)


WARM_SIZE = 64 * 1024


def _full(size, count):
    # A plain case is its full count of elements, after a warming request of 100.
    return count if size > WARM_SIZE else 100


# name -> (method and path, body of about `size` bytes); the hostile cases first.
CASES = {
    "delete ids": (DELETE, lambda size: _filled(b'{"uid_items":[', b"1", b"]}", size)),
    "ignored floats": (PUSH, _ignored(b"1.5")),
    "empty objects": (PUSH, _ignored(b"{}")),
    "empty lists": (PUSH, _ignored(b"[]")),
    "one-key objects": (PUSH, _ignored(b'{"":0}')),
    "short strings": (PUSH, _ignored(b'"ab"')),
    "big integers": (PUSH, _ignored(b"12345678901")),
    "nested lists": (PUSH, _ignored(b"[[[[[[[[0]]]]]]]]")),
    "unique keys": (
        PUSH,
        lambda size: b'{"list_items":[],"ignored":{' + b",".join(b'"%x":0' % n for n in range(size // 11)) + b"}}",
    ),
    "100000 ids": (DELETE, lambda size: json.dumps({"uid_items": list(range(1, _full(size, 100_000) + 1))}).encode()),
    "100000 ones": (DELETE, lambda size: b'{"uid_items":[' + b",".join([b"1"] * _full(size, 100_000)) + b"]}"),
    "push 10000 items": (PUSH, lambda size: make_body(_full(size, 10_000))),
    "push 100000 items": (PUSH, lambda size: make_body(_full(size, 100_000))),
    "list 1000 longest": (("GET", "/api/v1/forward/items/link?limit=1000"), lambda size: b""),
    # The history notes every deleted rule as it was: long rules must not cost a short body more.
    "delete 20000 longest": (
        DELETE,
        lambda size: json.dumps({"uid_items": list(range(1, _full(size, 20_000) + 1))}).encode(),
    ),
}

# The longest entry the service takes, eight of them in each of the rules a list page can hold.
_LONGEST = "sip:" + "u" * 493 + "@sip.bas-ip.com"
SEEDS = {
    "list 1000 longest": json.dumps(
        {
            "list_items": [
                {"link_id": n, "forward_number": n, "forward_entity_list": [_LONGEST] * 8} for n in range(1, 1001)
            ]
        }
    ).encode(),
}


# Rules written straight into the database before a case: how many, each of eight longest entries.
SEEDED_RULES = {"delete 20000 longest": 20_000}


def _seed_rules(path, count):
    with closing(Storage(path)) as repo:
        repo.database.connection.execute("BEGIN")
        entities = json.dumps([_LONGEST] * 8)
        repo.database.connection.executemany(
            "INSERT INTO rules (forward_number, link_id, entities) VALUES (?, ?, ?)",
            ((n, n, entities) for n in range(1, count + 1)),
        )
        repo.database.connection.execute("COMMIT")


def measure_here(case, size):
    """`(status, answer bytes, body bytes, peak growth bytes, high-water mark bytes)` of one
    request of `case`, in this process, after the same request made small."""
    (method, path), make = CASES[case]
    directory = tempfile.mkdtemp(prefix="bench-memory-")
    try:
        app = create_app({"DATABASE": os.path.join(directory, "forwarding.db")})
        headers = bearer(app)
        if case in SEEDED_RULES:
            _seed_rules(app.config["DATABASE"], SEEDED_RULES[case])
        if case in SEEDS:
            seed = environ_for(PUSH[1], method=PUSH[0], data=SEEDS[case], headers=headers)
            assert call(app, seed)[0] == 200
        for body in (make(WARM_SIZE), make(size)):
            environ = environ_for(path, method=method, data=body, content_type="application/json", headers=headers)
            gc.collect()
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")  # resets VmHWM to the current resident set
            before = status_kib("VmRSS")
            status, answer = call(app, environ)
            peak = status_kib("VmHWM")
            answer_size = len(answer)
            del answer, environ
        return status, answer_size, len(body), (peak - before) * 1024, peak * 1024
    finally:
        shutil.rmtree(directory)


def measure(case, size):
    """`measure_here` in a fresh interpreter, so that earlier cases leave nothing behind."""
    out = subprocess.run(
        [sys.executable, "-m", __spec__.name, "--case", case, "--size", str(size)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=float, default=16, help="size of the hostile bodies, in MiB")
    parser.add_argument("--cases", default=",".join(CASES), help="which cases, comma-separated")
    parser.add_argument("--smoke", action="store_true", help="one short run: each case at 1 MiB")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the factory-password warning of every fresh database
    if args.case:
        print(json.dumps(measure_here(args.case, args.size)))
        return

    size = MiB if args.smoke else int(args.mib * MiB)
    cases = [case for case in args.cases.split(",") if not (args.smoke and case == "push 100000 items")]
    print("peak: rise of VmHWM during one request in a warmed process; bound: 20x the body + 40 MiB")
    print(
        f"{'case':>20} {'body MiB':>9} {'status':>6} {'answer MiB':>10} {'peak MiB':>9} {'bound MiB':>9} {'x bound':>7}"
    )
    figures = {}
    for case in cases:
        status, answer_size, body_size, growth, _ = measure(case, size)
        bound = 20 * body_size + 40 * MiB
        print(
            f"{case:>20} {body_size / MiB:9.2f} {status:>6} {answer_size / MiB:10.2f} {growth / MiB:9.1f}"
            f" {bound / MiB:9.0f} {growth / bound:7.2f}"
        )
        figures[case] = {"status": status, "body_mib": round(body_size / MiB, 2), "peak_mib": round(growth / MiB, 1)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
