"""The shipped deployment, started for a test: `uwsgi --ini wsgi.ini` behind nginx with
`deploy/nginx*.conf`, on free loopback ports, with every file in a temporary directory."""

import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing, contextmanager, suppress
from pathlib import Path

import pytest

from forwarding import envfile
from forwarding.storage import Storage
from tests.helpers import MD5_123456, stored_rules

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30  # seconds: a busy machine loads the app slowly
LOGIN = f"/api/v1/login?username=admin&password={MD5_123456}"
PUSH = "/api/v1/forward/items/link"

# nginx's own error pages (deploy/nginx-server.conf), written out as in tests/helpers.py: the
# service's JSON has no space after the colon.
NGINX_BAD_REQUEST = b'{"error": "Bad request"}\n'
NGINX_NOT_FOUND = b'{"error": "Not found"}\n'
NGINX_METHOD_NOT_ALLOWED = b'{"error": "Method not allowed"}\n'
NGINX_TOO_LARGE = b'{"error": "Request body too large"}\n'
NGINX_URI_TOO_LONG = b'{"error": "Request URI too long"}\n'
NGINX_TOO_MANY_REQUESTS = b'{"error": "Too many requests"}\n'
NGINX_NOT_IMPLEMENTED = b'{"error": "Not implemented"}\n'
NGINX_INTERNAL_ERROR = b'{"error": "Internal server error"}\n'


class Missing(Exception):
    """A program the deployment needs is not installed."""


def find_programs():
    """`(nginx, uwsgi)`: the nginx on PATH (or in /usr/sbin) and the uWSGI beside this Python."""
    nginx = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    beside_python = Path(sys.executable).with_name("uwsgi")
    uwsgi = str(beside_python) if beside_python.exists() else shutil.which("uwsgi")
    missing = [name for name, path in (("nginx", nginx), ("uwsgi", uwsgi)) if path is None]
    if missing:
        raise Missing(f"{' and '.join(missing)} not installed (apt-get install nginx; pip install uwsgi)")
    return nginx, uwsgi


def program(name, hint):
    """A program beside this Python (the virtualenv's) or on PATH. Missing, the test skips, unless
    FORWARDING_E2E=required (as in CI), which makes it a failure; `hint` says how to install it."""
    beside_python = Path(sys.executable).with_name(name)
    path = str(beside_python) if beside_python.exists() else shutil.which(name)
    if path is None:
        message = f"{name} not installed ({hint})"
        if os.environ.get("FORWARDING_E2E") == "required":
            pytest.fail(f"FORWARDING_E2E=required, but {message}")
        pytest.skip(message)
    return path


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout, what, interval=0.05):
    """The first true value of `condition()`, tried every `interval` seconds for `timeout`."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout} s")
        time.sleep(interval)
    return value


def stop(process, stop_signal):
    """Stop `process` (if it was started and still runs) with `stop_signal`, or else SIGKILL."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(stop_signal)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


def request(port, method, path, body=None, headers=None, timeout=120):
    """One request on a new connection to 127.0.0.1:`port`; a dict `body` is sent as JSON."""
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


def raw_request(port, data, head=False, timeout=10):
    """Send the bytes `data` as they are on a new connection to 127.0.0.1:`port`; the first answer,
    with status None if it is HTTP/0.9's (a bare body), or None if none came. `head`: the request
    is a HEAD, whose answer has no body."""
    with socket.create_connection(("127.0.0.1", port), timeout) as connection:
        # nginx answers a request it refuses part-way through, then closes: the answer is still to read.
        with suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(data)
        try:
            start = connection.recv(5, socket.MSG_PEEK | socket.MSG_WAITALL)
        except (TimeoutError, ConnectionResetError):
            return None
        if start != b"HTTP/":
            body = b"".join(iter(lambda: connection.recv(65536), b""))
            return Response(None, http.client.HTTPMessage(), body) if body else None
        response = http.client.HTTPResponse(connection, method="HEAD" if head else "GET")
        response.begin()
        return Response(response.status, response.headers, response.read())


def tls_request(port, certificate, method, path, versions=None):
    """One request over TLS to 127.0.0.1:`port`, trusting `certificate`; `versions`: the (least, most)
    TLS versions the client offers."""
    context = ssl.create_default_context(cafile=str(certificate))
    if versions:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # a client that would speak TLS 1.0 or 1.1
        context.minimum_version, context.maximum_version = versions
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=60, context=context)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


def uwsgi_packet(variables):
    """A request in the uwsgi protocol: its variables, as nginx's uwsgi_pass sends them."""
    body = b"".join(
        struct.pack("<H", len(part)) + part
        for name, value in variables.items()
        for part in (name.encode(), value.encode())
    )
    return struct.pack("<BHB", 0, len(body), 0) + body


def uwsgi_request(path, variables):
    """Send `variables` as one uwsgi packet to the unix socket at `path`; the raw answer."""
    with socket.socket(socket.AF_UNIX) as connection:
        connection.settimeout(60)
        connection.connect(str(path))
        connection.sendall(uwsgi_packet(variables))
        return b"".join(iter(lambda: connection.recv(65536), b""))


def environment_file():
    """deploy/forwarding.env, the service's shipped environment, as a dict."""
    path = ROOT / "deploy" / "forwarding.env"
    return envfile.parse(path.read_text(), path)


class Uwsgi:
    """`uwsgi --ini wsgi.ini` from the repository, configured by its environment as in production.

    The stats server (added on the command line, for the tests only) tells which workers served;
    `options`: more of uWSGI's options, on its command line after the ini file.
    """

    def __init__(self, program, directory, settings, options=()):
        self.program = program
        self.options = list(options)
        self.stats_path = directory / "uwsgi-stats.sock"
        self.log_path = directory / "uwsgi.log"
        self.env = {name: value for name, value in os.environ.items() if not name.startswith("FORWARDING_")}
        self.env.update(settings)
        self.process = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [self.program, "--ini", str(ROOT / "wsgi.ini"), "--stats", str(self.stats_path), *self.options],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_ready()

    def wait_ready(self, replacing=None):
        """Until every worker has loaded the app; `replacing`: the pid of a dead one, replaced first."""
        wait_until(lambda: self._ready(replacing), START_TIMEOUT, "uWSGI did not have every worker ready")

    def _ready(self, replacing):
        if self.process.poll() is not None:
            raise RuntimeError(f"uWSGI exited with {self.process.returncode}:\n{self.log()}")
        try:
            pids = self.requests_by_worker()
        except OSError:
            return False
        # lazy-apps: each worker loads the app after the fork, and says so in the log.
        loaded = {int(pid) for pid in re.findall(r"WSGI app 0 \(mountpoint=''\) ready in .* pid: (\d+)", self.log())}
        return replacing not in pids and all(pid in loaded for pid in pids)

    def stats(self):
        with socket.socket(socket.AF_UNIX) as connection:
            connection.connect(str(self.stats_path))
            return json.loads(b"".join(iter(lambda: connection.recv(65536), b"")))

    def requests_by_worker(self, total=None):
        """`{pid: requests served}`; with `total`, once they add up to it (a worker counts a
        request just after answering it)."""

        def counts():
            served = {worker["pid"]: worker["requests"] for worker in self.stats()["workers"]}
            return served if total is None or sum(served.values()) == total else None

        return counts() if total is None else wait_until(counts, 10, f"uWSGI did not count {total} requests")

    def busy_worker(self):
        """The pid of a worker in the middle of a request, or None."""
        return next((worker["pid"] for worker in self.stats()["workers"] if worker["status"] == "busy"), None)

    def terminate(self, timeout):
        """SIGTERM, as systemd stops the service; the exit status, once it has exited."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def stop(self):
        stop(self.process, signal.SIGINT)

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def http_uwsgi(program, directory, **settings):
    """`(uwsgi, port)`: uWSGI alone, speaking HTTP on a free port (the quick start's shape), over a
    database in `directory`, with `settings` on top; not started yet."""
    port = free_port()
    env = {"FORWARDING_HTTP_SOCKET": f"127.0.0.1:{port}", "FORWARDING_DATABASE": str(directory / "forwarding.db")}
    return Uwsgi(program, directory, {**env, **settings}), port


class Nginx:
    """nginx with `deploy/nginx.conf` (HTTPS, with a self-signed certificate made here) and
    `deploy/nginx-plain-http.conf` filled in and included, as the system's nginx would.

    `changes`: `{directive: replacement}` in those files, for a test that cannot wait for a
    shipped limit (a minute's timeout)."""

    def __init__(self, program, directory, uwsgi_socket, changes=None):
        self.program = program
        self.directory = directory
        self.port = free_port()  # plain HTTP
        self.tls_port = free_port()
        self.certificate = directory / "certificate.pem"
        self.process = None
        self._configure(uwsgi_socket, dict(changes or {}))

    def _configure(self, uwsgi_socket, changes):
        key = self.directory / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1"]
            + ["-keyout", str(key), "-out", str(self.certificate)],
            check=True,
            capture_output=True,
        )
        placeholders = {
            "FORWARDING_NGINX_LISTEN": f"127.0.0.1:{self.tls_port}",
            "FORWARDING_NGINX_PLAIN_LISTEN": f"127.0.0.1:{self.port}",
            "FORWARDING_NGINX_CERTIFICATE": str(self.certificate),
            "FORWARDING_NGINX_CERTIFICATE_KEY": str(key),
            "FORWARDING_UWSGI_SOCKET": str(uwsgi_socket),
            "FORWARDING_NGINX_LOGS": str(self.directory),
        }
        # Where the README installs them, relative to nginx's configuration directory.
        (self.directory / "forwarding").mkdir()
        for source, installed in [
            ("nginx.conf", "forwarding.conf"),
            ("nginx-server.conf", "forwarding/server.conf"),
            ("nginx-plain-http.conf", "forwarding.plain-http.conf"),
        ]:
            text = string.Template((ROOT / "deploy" / source).read_text()).safe_substitute(placeholders)
            for directive in [directive for directive in changes if directive in text]:
                text = text.replace(directive, changes.pop(directive))
            (self.directory / installed).write_text(text)
        if changes:
            raise ValueError(f"not in deploy/nginx*.conf: {list(changes)}")
        # `include uwsgi_params` reads the file beside the main configuration: nginx's own.
        shutil.copy(Path(self._conf_path()).with_name("uwsgi_params"), self.directory)
        temp = {kind: self.directory / f"{kind}_temp" for kind in ("client_body", "uwsgi", "proxy", "fastcgi", "scgi")}
        for path in temp.values():
            path.mkdir()
        # As root, nginx's workers would run as nobody, who cannot write the temporary directory.
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
        (self.directory / "nginx.conf").write_text(f"""
{user}
daemon off;
worker_processes 1;
pid {self.directory}/nginx.pid;
error_log {self.directory}/nginx.error.log;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {temp["client_body"]};
    uwsgi_temp_path {temp["uwsgi"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    scgi_temp_path {temp["scgi"]};
    include forwarding*.conf;
}}
""")

    def _conf_path(self):
        version = subprocess.run([self.program, "-V"], capture_output=True, text=True).stderr
        match = re.search(r"--conf-path=(\S+)", version)
        return match.group(1) if match else "/etc/nginx/nginx.conf"

    def start(self):
        command = [
            self.program,
            "-p",
            str(self.directory),
            "-c",
            str(self.directory / "nginx.conf"),
            "-e",
            str(self.directory / "nginx.error.log"),
        ]
        checked = subprocess.run(command + ["-t"], capture_output=True, text=True)
        if checked.returncode:
            raise RuntimeError(f"nginx rejected the configuration:\n{checked.stderr}")
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(self._listening, START_TIMEOUT, "nginx did not listen")

    def _listening(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"nginx exited with {self.process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def stop(self):
        stop(self.process, signal.SIGQUIT)  # nginx's graceful stop

    def access_log(self, lines=None):
        """The access log; with `lines`, once it has that many (nginx writes a request's line
        just after answering it)."""
        if lines is not None:
            wait_until(lambda: self.access_log().count("\n") >= lines, 10, f"nginx did not log {lines} requests")
        return self._read("forwarding.access.log")

    def error_log(self):
        """This site's error log and nginx's own."""
        return self._read("forwarding.error.log") + self._read("nginx.error.log")

    def _read(self, name):
        path = self.directory / name
        return path.read_text(errors="replace") if path.exists() else ""


class Deployment:
    """uWSGI behind nginx over a database of its own, as `deploy/` and the README set them up.

    uWSGI's socket is in a directory of its own, as in the unit's RuntimeDirectory (/run/forwarding),
    and goes to the group the shipped environment file names (nginx's); its owner is whoever runs
    the tests (root in CI), as the service's user owns it in production.
    """

    def __init__(self, programs, directory, settings=None, uwsgi_options=(), nginx_changes=None):
        nginx, uwsgi = programs
        directory.mkdir()
        self.database = directory / "forwarding.db"
        # Not under pytest's directory, which only its owner may enter: nginx's group must reach it.
        self.run_directory = Path(tempfile.mkdtemp(prefix="forwarding-run-"))
        self.run_directory.chmod(0o755)
        self.socket = self.run_directory / "uwsgi.sock"
        group = environment_file()["FORWARDING_UWSGI_SOCKET_OWNER"].split(":")[1]
        self.uwsgi = Uwsgi(
            uwsgi,
            directory,
            {
                "FORWARDING_UWSGI_SOCKET": str(self.socket),
                "FORWARDING_UWSGI_SOCKET_OWNER": f"{pwd.getpwuid(os.geteuid()).pw_name}:{group}",
                "FORWARDING_DATABASE": str(self.database),
                **(settings or {}),
            },
            uwsgi_options,
        )
        self.nginx = Nginx(nginx, directory, self.socket, nginx_changes)

    def start(self):
        self.uwsgi.start()
        self.nginx.start()

    def stop(self):
        self.nginx.stop()
        self.uwsgi.stop()
        shutil.rmtree(self.run_directory, ignore_errors=True)

    def request(self, method, path, body=None, headers=None):
        """A request through nginx."""
        return request(self.nginx.port, method, path, body, headers)

    def log_in(self):
        response = self.request("GET", LOGIN)
        assert response.status == 200, response
        return response.json()["token"]

    def tls_request(self, method, path, versions=None):
        """A request through nginx's HTTPS server."""
        return tls_request(self.nginx.tls_port, self.nginx.certificate, method, path, versions)

    def logs(self):
        return self.uwsgi.log() + self.nginx.access_log() + self.nginx.error_log()

    def stored(self):
        return stored(self.database)


def stored(database):
    """`(rules, integrity check)`: the database as the service left it, read directly."""
    with closing(Storage(str(database))) as repo:
        return stored_rules(repo), repo.database.connection.execute("PRAGMA integrity_check").fetchall()


def sip_entities(number):
    """Eight entries, the most a rule has: a push of 20,000 such rules is about 5.5 MB."""
    return [f"sip:{number}{k}@sip.bas-ip.com" for k in range(8)]


def link_items(numbers, entities):
    """A bulk push's `list_items`: each rule with its number as its link_id."""
    return [
        {"link_id": number, "forward_number": number, "forward_entity_list": entities(number)} for number in numbers
    ]


@contextmanager
def write_lock(database):
    """Hold the database's write lock, as another worker's long transaction would."""
    with closing(sqlite3.connect(database, isolation_level=None)) as connection:
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")


class Background:
    """`function(*args)` running in a thread, e.g. a request that is to be cut off."""

    def __init__(self, function, *args):
        self._outcome = {}
        self._thread = threading.Thread(target=lambda: self._outcome.update(result=function(*args)))
        self._thread.start()

    def result(self, timeout=120):
        self._thread.join(timeout)
        return self._outcome["result"]
