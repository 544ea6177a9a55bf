"""Requests per second through the shipped uWSGI config, against floors measured in the same run.

    .venv/bin/python -m bench.http_load [--seconds 2] [--rounds 5] [--smoke]

Needs wrk (Debian: `apt-get install wrk`). Everything listens on 127.0.0.1 only.

- list: `GET /api/v1/forward/items?limit=100` on 1,000 rules, with a login token, through
  `uwsgi --ini wsgi.ini`. Its floor is the same answer's bytes as a constant from a bare WSGI app
  under the same uWSGI settings (bench/floor_apps.py); the same constant from a minimal Flask
  view shows what the framework alone costs.
- 304: the same list request with the `If-None-Match` of its answer: the conditional GET's
  answer without a body, against the same floors.
- write: `POST /api/v1/forward/item/<n>` with a random n in 1..100,000 (creates and updates) and
  a random entry. Its floor is the rate of the same single-row commits straight into SQLite with
  the service's schema and pragmas (WAL, synchronous=FULL), in one loop in this process. Two
  apps under the same uWSGI settings make the same commit per request and nothing else, one bare
  WSGI, one a Flask view: they show what HTTP, and then Flask, cost on top of the commit.

After a first pass that is not counted, each round takes every measurement once, every other
round in reverse order. Rates are medians over the rounds; a ratio is the median of the rounds'
own ratios, so that other work on the machine, and the disk's changing speed, weigh on service
and floor alike. `--smoke` takes every measurement once for 1 s with no first pass, to show that
the benchmark still works.
"""

import argparse
import json
import logging
import os
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import closing

from forwarding.factory import create_app

from .wsgi_calls import bearer, call, environ_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = 1000
LIST_PATH = "/api/v1/forward/items?limit=100"
WRITE_NUMBERS = 100_000

# Every write changes its rule (SQLite skips writing a row that an update leaves as it was): each
# wrk thread of each run seeds its own random numbers, or they would all draw the same ones.
WRITE_SCRIPT = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end
function init(args)
  math.randomseed(os.time() * 16 + seed)
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "%(authorization)s"
request = function()
  local body = '{"forward_entity_list": ["1001", "sip:' .. math.random(1, 1000000000) .. '@sip.bas-ip.com"]}'
  return wrk.format(nil, "/api/v1/forward/item/" .. math.random(1, %(numbers)d), nil, body)
end
"""
LIST_SCRIPT = 'wrk.headers["Authorization"] = "%(authorization)s"\n'
NOT_MODIFIED_SCRIPT = LIST_SCRIPT + "wrk.headers[\"If-None-Match\"] = '%(etag)s'\n"


def etag_of(server, path, authorization):
    request = urllib.request.Request(server.url(path), headers={"Authorization": authorization})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.headers["ETag"]


def not_modified(server, path, authorization):
    """`through`, with the `If-None-Match` of the answer as it is when the measurement starts: the
    writes measured in between change it."""

    def measure(seconds):
        etag = etag_of(server, path, authorization)
        return through(server, path, NOT_MODIFIED_SCRIPT % {"authorization": authorization, "etag": etag})(seconds)

    return measure


def free_port():
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Uwsgi:
    """`uwsgi --ini wsgi.ini` on a free loopback port, with extra options and environment."""

    def __init__(self, directory, name, options=(), environment=None):
        self.port = free_port()
        socket_address = f"127.0.0.1:{self.port}"
        command = [os.path.join(os.path.dirname(sys.executable), "uwsgi"), "--ini", "wsgi.ini", *options]
        self.log = open(os.path.join(directory, name + ".log"), "wb")  # noqa: SIM115 -- closed by stop(), with the process
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "FORWARDING_HTTP_SOCKET": socket_address, **(environment or {})},
        )
        self._wait_until_up()

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

    def _wait_until_up(self, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uwsgi exited with {self.process.returncode}; see {self.log.name}")
            try:
                urllib.request.urlopen(self.url("/api/info"), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"uwsgi did not answer within {seconds} s; see {self.log.name}")

    def cpu_seconds(self):
        """CPU time that the master and its workers have used so far."""
        return server_cpu_seconds(self.process.pid)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)  # die-on-term: SIGTERM stops, not reloads
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def server_cpu_seconds(master):
    """CPU time that the uWSGI master `master` (a pid) and its workers have used so far."""
    with open(f"/proc/{master}/task/{master}/children") as children:
        pids = [master, *map(int, children.read().split())]
    return sum(_cpu_seconds(pid) for pid in pids)


def _cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(url, script, seconds):
    """`(requests per second, requests, wrk's CPU seconds)` of one wrk run; fails on any answer
    but 2xx, or a lost connection."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        cpu_before = _children_cpu_seconds()
        out = subprocess.run(
            ["wrk", "--threads", "2", "--connections", "8", "--duration", f"{seconds}s", "--script", lua.name, url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        wrk_cpu = _children_cpu_seconds() - cpu_before
    # uWSGI closes the connection after each answer, which wrk counts as a read error: not a failure.
    errors = re.search(r"Socket errors: connect (\d+), read \d+, write (\d+), timeout (\d+)", out)
    if "Non-2xx" in out or (errors and any(map(int, errors.groups()))):
        raise RuntimeError("wrk saw failures:\n" + out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1)), requests, wrk_cpu


def through(server, path, script):
    """A measurement through `server`: `(requests per second, CPU us per request of the server,
    the same of wrk)`. The CPU figures are a profile by process: what each side costs."""

    def measure(seconds):
        cpu_before = server.cpu_seconds()
        rate, requests, wrk_cpu = wrk(server.url(path), script, seconds)
        return rate, (server.cpu_seconds() - cpu_before) / requests * 1e6, wrk_cpu / requests * 1e6

    return measure


def commit_rate(path, seconds):
    """`(commits per second, CPU us per commit, None)` of the same writes as wrk's, straight into
    SQLite with the service's pragmas: one statement that creates the rule or replaces its entries."""
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA synchronous = FULL")
        commits = 0
        cpu_before = time.process_time()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            entities = f'["1001", "sip:{random.randint(1, 10**9)}@sip.bas-ip.com"]'
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO rules (forward_number, entities) VALUES (?, ?)"
                " ON CONFLICT (forward_number) DO UPDATE SET entities = excluded.entities",
                (random.randint(1, WRITE_NUMBERS), entities),
            )
            db.execute("COMMIT")
            commits += 1
        cpu = time.process_time() - cpu_before
    return commits / seconds, cpu / commits * 1e6, None


def prepare(directory):
    """The service's database with RULES rules; a token; the list page's bytes."""
    path = os.path.join(directory, "forwarding.db")
    app = create_app({"DATABASE": path})
    headers = bearer(app)
    items = [
        {"link_id": n, "forward_number": n, "forward_entity_list": [str(n), f"sip:{n}@sip.bas-ip.com"]}
        for n in range(1, RULES + 1)
    ]
    status, _ = call(
        app, environ_for("/api/v1/forward/items/link", method="POST", json={"list_items": items}, headers=headers)
    )
    assert status == 200
    status, page = call(app, environ_for(LIST_PATH, headers=headers))
    assert status == 200
    page_path = os.path.join(directory, "page.json")
    with open(page_path, "wb") as page_file:
        page_file.write(page)
    return path, headers["Authorization"], page_path


def copy_of(database, name):
    """A copy of `database` beside it, for a floor that writes: each writer has its own."""
    path = os.path.join(os.path.dirname(database), name)
    with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(path)) as copy:
        source.backup(copy)
    return path


def floor_app(directory, name, callable_, environment):
    return Uwsgi(directory, name, ["--wsgi-file", "bench/floor_apps.py", "--callable", callable_], environment)


# What is compared: (what, measured, against). The first of each kind is the service's target,
# the others show where the gap lies.
RATIOS = (
    ("list page / bare WSGI constant", "list", "bare constant"),
    ("Flask constant / bare WSGI constant", "Flask constant", "bare constant"),
    ("list page / Flask constant", "list", "Flask constant"),
    ("304 / Flask constant", "list 304", "Flask constant"),
    ("single-rule write / SQLite commits", "write", "SQLite commits"),
    ("bare WSGI commit / SQLite commits", "bare commit", "SQLite commits"),
    ("Flask commit / SQLite commits", "Flask commit", "SQLite commits"),
    ("single-rule write / Flask commit", "write", "Flask commit"),
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=2, help="length of each measurement")
    parser.add_argument("--rounds", type=int, default=5, help="measurements of each kind (medians are shown)")
    parser.add_argument("--smoke", action="store_true", help="one round of 1 s, no first pass: does it still work?")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.rounds = 1, 1
    if shutil.which("wrk") is None:
        sys.exit("bench.http_load needs wrk: sudo apt-get install wrk")
    logging.disable(logging.WARNING)  # the factory-password warning of the fresh database

    directory = tempfile.mkdtemp(prefix="bench-http-")
    database, authorization, page_path = prepare(directory)
    floor_database = copy_of(database, "floor.db")
    constant_body = {"BENCH_CONSTANT_BODY": page_path}
    servers = [
        # As many writes in progress as wrk's connections: the rate of writes, not the cap's 429s.
        service := Uwsgi(
            directory, "service", environment={"FORWARDING_DATABASE": database, "FORWARDING_WRITES_IN_PROGRESS": "8"}
        ),
        constant := floor_app(directory, "constant", "app", constant_body),
        flask_constant := floor_app(directory, "flask-constant", "flask_app", constant_body),
        commit := floor_app(directory, "commit", "commit_app", {"BENCH_DATABASE": copy_of(database, "commit.db")}),
        flask_commit := floor_app(
            directory, "flask-commit", "flask_commit_app", {"BENCH_DATABASE": copy_of(database, "flask-commit.db")}
        ),
    ]
    list_script = LIST_SCRIPT % {"authorization": authorization}
    write_script = WRITE_SCRIPT % {"authorization": authorization, "numbers": WRITE_NUMBERS}
    measurements = {
        "list": through(service, LIST_PATH, list_script),
        "list 304": not_modified(service, LIST_PATH, authorization),
        "bare constant": through(constant, LIST_PATH, list_script),
        "Flask constant": through(flask_constant, LIST_PATH, list_script),
        "write": through(service, "/", write_script),
        "SQLite commits": lambda seconds: commit_rate(floor_database, seconds),
        "bare commit": through(commit, "/", write_script),
        "Flask commit": through(flask_commit, "/", write_script),
    }
    try:
        # A first pass, not counted: the workers load, and each database's write-ahead log grows to
        # the size it keeps (while it grows, every commit also syncs the file's new length).
        for measure in measurements.values() if not args.smoke else ():
            measure(1)
        figures = {name: [] for name in measurements}
        for round_ in range(args.rounds):
            # Every other round backwards, so that no measurement always follows the same one.
            for name in list(measurements)[:: -1 if round_ % 2 else 1]:
                figures[name].append(measurements[name](args.seconds))
    finally:
        for server in servers:
            server.stop()
    shutil.rmtree(directory)
    report(figures, args)


def report(figures, args):
    """Median rates and CPU costs, and for each pair the median of the rounds' ratios: the disk's
    speed, shared with whatever else runs on the machine, drifts far more between rounds than
    within one."""
    print(f"medians of {args.rounds} rounds of {args.seconds:g} s; wrk: 2 threads, 8 connections")
    print(f"  {'':36} {'req/s':>8}   CPU us per request: {'server':>6} {'wrk':>6}")
    for name, runs in figures.items():
        rate, server_us, client_us = (
            statistics.median(column) if None not in column else None for column in zip(*runs)
        )
        client = "" if client_us is None else f"{client_us:6.0f}"
        print(f"  {name:36} {rate:8.0f}   {'':19} {server_us:6.0f} {client:>6}".rstrip())
    print("ratios (the median of the rounds' own):")
    rates = {name: [run[0] for run in runs] for name, runs in figures.items()}
    summary = {
        "list_rps": round(statistics.median(rates["list"])),
        "write_rps": round(statistics.median(rates["write"])),
    }
    for what, measured, against in RATIOS:
        ratio = statistics.median(m / a for m, a in zip(rates[measured], rates[against]))
        print(f"  {what:36} {ratio:8.2f}")
        summary[what] = round(ratio, 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
