"""Another client's reads while clients push 100,000-rule bodies in a loop, through the shipped nginx.

    .venv/bin/python -m bench.write_flood [--seconds 20] [--pushers 8] [--items 100000] [--smoke]

The shipped nginx site in front of `uwsgi --ini wsgi.ini` (4 workers), as the end-to-end tests
start them (tests/e2e/deployment.py), on a fresh database in a temporary directory. A reader asks
`GET /api/info` and `GET /api/v1/forward/items?limit=100` (with a token) in turn, a new connection
each, a pause of 20 ms between: first with the server idle, then while `--pushers` threads each
push `--items` rules in a loop (the same numbers, their entries alternating, so that every push
changes every rule), honouring `Retry-After` on a 429. The idle phase is the floor: the figures are
the reads' p50 and p99 in both phases and their ratios, the pushes' answers with the time each kind
took (a 429's is the time to be refused), and the CPU the server used. `--smoke` is one short run
(1,000 rules, 2 s a phase). `--writes-in-progress` sets FORWARDING_WRITES_IN_PROGRESS.

The last line is the figures as JSON.
"""

import argparse
import json
import logging
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from tests.e2e.deployment import LOGIN, PUSH, Deployment, find_programs, request

from .http_load import server_cpu_seconds

PAUSE = 0.02
READS = ("/api/info", "/api/v1/forward/items?limit=100")


def body(items, entry):
    rules = [
        {"link_id": n, "forward_number": n, "forward_entity_list": [entry, f"sip:{n}@sip.bas-ip.com"]}
        for n in range(1, items + 1)
    ]
    return json.dumps({"list_items": rules}).encode()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def reads(port, headers, stop):
    """Milliseconds of each read, by path, until `stop` is set."""
    times = defaultdict(list)
    while not stop.is_set():
        for path in READS:
            start = time.perf_counter()
            answer = request(port, "GET", path, headers=headers if path != "/api/info" else None)
            assert answer.status == 200, answer
            times[path].append((time.perf_counter() - start) * 1000)
            time.sleep(PAUSE)
    return times


def pusher(port, headers, bodies, stop, answers):
    """Push `bodies` in turn until `stop`; each answer's `(status, ms)` goes to `answers`."""
    turn = 0
    while not stop.is_set():
        start = time.perf_counter()
        answer = request(port, "POST", PUSH, body=bodies[turn % 2], headers=headers)
        answers.append((answer.status, (time.perf_counter() - start) * 1000))
        if answer.status == 429:
            stop.wait(int(answer.headers["Retry-After"]))
        else:
            turn += 1


def phase(port, headers, seconds, bodies=None, pushers=0):
    """`(read times by path, [(status, ms)] of the pushes)` of one phase."""
    stop = threading.Event()
    answers = []
    threads = [threading.Thread(target=pusher, args=(port, headers, bodies, stop, answers)) for _ in range(pushers)]
    for thread in threads:
        thread.start()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    times = reads(port, headers, stop)
    for thread in threads:
        thread.join()
    return times, answers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="length of each phase")
    parser.add_argument("--pushers", type=int, default=8, help="clients pushing in a loop")
    parser.add_argument("--items", type=int, default=100_000, help="rules in each push")
    parser.add_argument(
        "--writes-in-progress", help="FORWARDING_WRITES_IN_PROGRESS (the service's default if not given)"
    )
    parser.add_argument("--smoke", action="store_true", help="one short run (1,000 rules, 2 s a phase)")
    args = parser.parse_args()
    seconds, items = (2, 1000) if args.smoke else (args.seconds, args.items)
    logging.disable(logging.WARNING)
    bodies = (body(items, "1001"), body(items, "1002"))

    settings = {"FORWARDING_PROCESSES": "4"}
    if args.writes_in_progress:
        settings["FORWARDING_WRITES_IN_PROGRESS"] = args.writes_in_progress
    directory = Path(tempfile.mkdtemp(prefix="bench-writes-"))
    deployment = Deployment(find_programs(), directory / "deployment", settings)
    deployment.start()
    try:
        port = deployment.nginx.port
        headers = {"Authorization": "Bearer " + request(port, "GET", LOGIN).json()["token"]}
        assert request(port, "POST", PUSH, body=bodies[0], headers=headers).status == 200  # the rules exist
        for _ in range(20):  # every worker has loaded and opened its connection
            request(port, "GET", READS[1], headers=headers)
        idle, _ = phase(port, headers, seconds)
        cpu_before = server_cpu_seconds(deployment.uwsgi.process.pid)
        flooded, answers = phase(port, headers, seconds, bodies, args.pushers)
        cpu = server_cpu_seconds(deployment.uwsgi.process.pid) - cpu_before
    finally:
        deployment.stop()
        shutil.rmtree(directory)

    figures = {"reads": {}, "pushes": {}, "server_cpu_s": round(cpu, 1)}
    print(
        f"{args.pushers} clients pushing {items:,} rules in a loop for {seconds:g} s through nginx"
        f" (FORWARDING_WRITES_IN_PROGRESS={args.writes_in_progress or 'default'});"
        " reads every 20 ms"
    )
    for path in READS:
        quiet, busy = idle[path], flooded[path]
        shown = {
            "idle_p50_ms": round(statistics.median(quiet), 2),
            "idle_p99_ms": round(percentile(quiet, 0.99), 2),
            "flood_p50_ms": round(statistics.median(busy), 2),
            "flood_p99_ms": round(percentile(busy, 0.99), 2),
            "flood_max_ms": round(max(busy), 2),
        }
        shown["p99_ratio"] = round(shown["flood_p99_ms"] / shown["idle_p99_ms"], 2)
        figures["reads"][path] = shown
        print(
            f"  {path}: idle p50 {shown['idle_p50_ms']:.2f} p99 {shown['idle_p99_ms']:.2f} ms ({len(quiet)});"
            f" flooded p50 {shown['flood_p50_ms']:.2f} p99 {shown['flood_p99_ms']:.2f}"
            f" max {shown['flood_max_ms']:.2f} ms ({len(busy)}); p99 {shown['p99_ratio']}x idle"
        )
    by_status = defaultdict(list)
    for status, ms in answers:
        by_status[status].append(ms)
    for status, times in sorted(by_status.items()):
        shown = {
            "count": len(times),
            "p50_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1),
        }
        figures["pushes"][str(status)] = shown
        print(f"  pushes answered {status}: {shown['count']}, p50 {shown['p50_ms']} ms, max {shown['max_ms']} ms")
    print(f"  server CPU {cpu:.1f} s; answers {dict(sorted(Counter(s for s, _ in answers).items()))}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
