"""Another client's latency while many addresses flood HTTP Basic with fresh usernames.

    .venv/bin/python -m bench.auth_flood [--seconds 10] [--threads 8] [--addresses 1000] [--nginx] [--smoke]

`uwsgi --ini wsgi.ini` (4 workers) on a fresh database in a temporary directory, on a free
loopback port; with `--nginx`, behind the shipped nginx site (deploy/, as the end-to-end tests
start it), as clients meet it in production. A client logged in with a token asks `GET /api/info`
over and over (a new connection each, a pause of 20 ms between), first with the server idle, then
while `--threads` threads send `GET /api/v1/forward/items` with HTTP Basic, a username never used
before and a wrong password, each request from the next of `--addresses` source addresses
127.100.y.z (Linux routes all of 127/8 to the loopback: every one is a client of its own to nginx
and to the service). Each attempt costs a slow hash unless the service refuses it unchecked. The
idle median is the floor: the figures are the medians of both phases, their difference and their
ratio, the flood's answers and their rate, and the CPU the server used during it. The flood runs
in a process of its own at nice 10, as an attacker's machine is not the server's. `--smoke` is one short run (2 s
each phase, 50 addresses).

The last line is the figures as JSON.
"""

import argparse
import base64
import hashlib
import http.client
import json
import logging
import multiprocessing
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.deployment import Deployment, find_programs

from .http_load import Uwsgi, server_cpu_seconds

PAUSE = 0.02
NICENESS = 10  # the flooding client's (flooding)


def source_addresses(count):
    """`count` loopback addresses other than the measuring client's 127.0.0.1."""
    if not 0 < count <= 250 * 250:
        raise SystemExit(f"--addresses must be from 1 to {250 * 250}")
    return [f"127.100.{number // 250}.{number % 250 + 1}" for number in range(count)]


def _get(port, path, headers=None, source="127.0.0.1"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def log_in(port):
    """A login token for the measuring client."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", f"/api/v1/login?username=admin&password={hashlib.md5(b'123456').hexdigest()}")
        response = connection.getresponse()
        assert response.status == 200, response.status
        return json.loads(response.read())["token"]
    finally:
        connection.close()


def latencies(port, token, stop):
    """Milliseconds of each `/api/info` answer until `stop` is set."""
    times = []
    while not stop.is_set():
        start = time.perf_counter()
        assert _get(port, "/api/info", {"Authorization": f"Bearer {token}"}) == 200
        times.append((time.perf_counter() - start) * 1000)
        time.sleep(PAUSE)
    return times


def flood(port, thread, threads, sources, stop, statuses):
    count = 0
    while not stop.is_set():
        credentials = base64.b64encode(f"flood{thread}x{count}:wrong".encode()).decode()
        source = sources[(count * threads + thread) % len(sources)]
        statuses[_get(port, "/api/v1/forward/items", {"Authorization": f"Basic {credentials}"}, source)] += 1
        count += 1


def flooding(port, seconds, threads, sources, results):
    """`threads` flooding for `seconds`, then their Counter of statuses put on `results`. Run in a
    process of its own, at a lower priority: an attacker's CPU is not the server's, and on one
    machine the flooding client's own work would otherwise be measured as the server's latency."""
    os.nice(NICENESS)
    stop = threading.Event()
    statuses = Counter()
    flooders = [
        threading.Thread(target=flood, args=(port, n, threads, sources, stop, statuses)) for n in range(threads)
    ]
    for flooder in flooders:
        flooder.start()
    threading.Timer(seconds, stop.set).start()
    for flooder in flooders:
        flooder.join()
    results.put(dict(statuses))


def phase(port, token, seconds, threads=0, sources=()):
    """`(latencies in ms, Counter of the flood's statuses)` of one phase."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    flooder = context.Process(target=flooding, args=(port, seconds, threads, sources, results))
    if threads:
        flooder.start()
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    times = latencies(port, token, stop)
    statuses = Counter()
    if threads:
        statuses.update(results.get())
        flooder.join()
    return times, statuses


@contextmanager
def serving(directory, through_nginx):
    """`(port, cpu_seconds)` of the service started in `directory`: the port clients use, and the
    CPU time its uWSGI has used so far."""
    environment = {"FORWARDING_DATABASE": os.path.join(directory, "forwarding.db"), "FORWARDING_PROCESSES": "4"}
    if not through_nginx:
        server = Uwsgi(directory, "service", environment=environment)
        try:
            yield server.port, server.cpu_seconds
        finally:
            server.stop()
        return
    deployment = Deployment(find_programs(), Path(directory) / "deployment", {"FORWARDING_PROCESSES": "4"})
    deployment.start()
    try:
        yield deployment.nginx.port, lambda: server_cpu_seconds(deployment.uwsgi.process.pid)
    finally:
        deployment.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="length of each phase")
    parser.add_argument("--threads", type=int, default=8, help="threads flooding")
    parser.add_argument("--addresses", type=int, default=1000, help="source addresses the flood comes from")
    parser.add_argument("--nginx", action="store_true", help="through the shipped nginx site")
    parser.add_argument("--smoke", action="store_true", help="one short run (2 s a phase, 50 addresses)")
    args = parser.parse_args()
    seconds, sources = (2, source_addresses(50)) if args.smoke else (args.seconds, source_addresses(args.addresses))
    logging.disable(logging.WARNING)

    directory = tempfile.mkdtemp(prefix="bench-flood-")
    with serving(directory, args.nginx) as (port, cpu_seconds):
        for _ in range(20):  # every worker has loaded and opened its connection
            _get(port, "/api/info")
        token = log_in(port)
        idle, _ = phase(port, token, seconds)
        cpu_before = cpu_seconds()
        flooded, statuses = phase(port, token, seconds, args.threads, sources)
        cpu = cpu_seconds() - cpu_before
    shutil.rmtree(directory)

    idle_ms, flooded_ms = statistics.median(idle), statistics.median(flooded)
    figures = {
        "idle_median_ms": round(idle_ms, 2),
        "flood_median_ms": round(flooded_ms, 2),
        "difference_ms": round(flooded_ms - idle_ms, 2),
        "ratio": round(flooded_ms / idle_ms, 2),
        "flood_addresses": len(sources),
        "flood_answers": dict(sorted(statuses.items())),
        "server_cpu_s": round(cpu, 1),
    }
    where = "through nginx" if args.nginx else "straight to uWSGI"
    print(
        f"{args.threads} threads of Basic with fresh usernames from {len(sources)} addresses for {seconds:g} s,"
        f" {where}; /api/info with a token every 20 ms"
    )
    print(f"  idle:    median {idle_ms:7.2f} ms over {len(idle)} requests")
    print(
        f"  flooded: median {flooded_ms:7.2f} ms over {len(flooded)} requests"
        f" ({figures['difference_ms']:+.2f} ms, {figures['ratio']}x idle)"
    )
    answers = sum(statuses.values())
    rate = answers / seconds
    print(f"  flood:   {answers} answers ({rate:.0f}/s) {figures['flood_answers']}, server CPU {cpu:.1f} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
