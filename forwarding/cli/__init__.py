"""Operator commands: `forwarding <command>`.

Each works on the database of the settings in force (`FORWARDING_*`), like the service itself:
from `--env-file`, or the environment, or else the deployed environment file
(/etc/forwarding/forwarding.env) when it exists, so that the command an operator types on the
service's host acts on the service's database. Run as root on a database another user owns, a
command becomes that user before it opens anything (files.py). A command is a function
registered with `@command(name)`: it runs inside the app's context, so `get_rules()`,
`get_access()` and `current_app` work as in a request. The commands live by what they serve:
rules.py (the rules and their history), access.py (the account, the tokens, the login blocks),
settings.py (the settings), backups.py (the whole database: backup and restore).

Exit codes: 0 done; 1 refused (bad input: a file, a password, a database that is missing or
cannot be used), nothing changed; 2 bad usage or settings (an option, an argument, a setting,
the environment file).
"""

import functools
import os

import click

from .. import __version__, config, envfile
from ..db import get_access
from ..factory import FACTORY_PASSWORD_WARNING, UnusableDatabase, create_app
from ..limits import INT64_MAX
from ..storage.database import SCHEMA_VERSION
from . import files
from .files import Refused

# The settings file of a host deployed as the README says (deploy/forwarding.env, installed),
# read when no other settings are given; FORWARDING_ENV_FILE names another ("" for none).
DEFAULT_ENV_FILE = "/etc/forwarding/forwarding.env"


class BadUsage(click.ClickException):
    """An option, an argument, a setting or the environment file that cannot be used: one line."""

    exit_code = 2


class Session:
    """What the commands of one invocation share (the click context's `obj`): the environment
    they read the settings from, the settings file read, and the app, made on first use (tests
    pass their own)."""

    def __init__(self, app=None, environ=None):
        self.app = app
        self.database_was_there = True
        self.environ = os.environ if environ is None else environ
        self.env_file = None
        self._settings = None

    def settings(self):
        """The settings of the environment, checked, and its unknown variables warned of, once."""
        if self._settings is None:
            try:
                self._settings = config.from_environment(self.environ)
            except config.BadSetting as error:
                raise BadUsage(str(error)) from None
            for warning in config.unknown(self.environ):
                click.echo(f"Warning: {warning}", err=True)
        return self._settings

    def database_path(self):
        if self.app is not None:
            return os.path.abspath(self.app.config["DATABASE"])
        return os.path.abspath(self.settings().get("DATABASE", config.DEFAULTS["DATABASE"]))

    def named(self):
        """The database, for a message: its path, and the settings file that chose it."""
        path = self.database_path()
        return path if self.env_file is None else f"{path} (settings: {self.env_file})"

    def open(self, creates=False):
        """The app on the database; as its owner when run as root. Only `creates` may start on a
        database that is not there yet."""
        if self.app is None:
            settings, path = self.settings(), self.database_path()
            found = files.database_file(path)
            self.database_was_there = found is not None
            # A command run from the wrong directory, or with a misspelt setting, must not make
            # a fresh database and show it as if the rules were gone.
            if not creates and found is None:
                raise Refused(
                    f"no database at {path} ({self._chosen()}): set FORWARDING_DATABASE to the service's"
                    " (or use --env-file), or create one with `forwarding init`"
                )
            files.become_owner(path, found)
            if found is not None:
                files.check_readable(path)
            try:
                self.app = create_app(settings, announce=False)  # the commands say what matters to them
            except UnusableDatabase as error:
                raise Refused(str(error)) from None
        return self.app

    def _chosen(self):
        raw = self.environ.get("FORWARDING_DATABASE")
        chosen = "FORWARDING_DATABASE is not set" if raw is None else f"FORWARDING_DATABASE={raw}"
        return chosen if self.env_file is None else f"{chosen}; settings: {self.env_file}"


def _read_env_file(session, path, option):
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as error:
        if option is None:  # the deployed file, read by default
            raise BadUsage(
                f"cannot read the service's settings file {path}: {error.strerror}: run the command as root,"
                " or give other settings (--env-file, FORWARDING_DATABASE)"
            ) from None
        raise BadUsage(f"{option}: cannot read {path}: {error.strerror}") from None
    try:
        from_file = envfile.parse(text, path)
    except envfile.BadLine as error:
        raise BadUsage(f"{option}: {error}") from None
    session.environ = {**from_file, **session.environ}
    session.env_file = os.path.abspath(path)


@click.group(help="Operate the call-forward rules service.")
@click.version_option(
    __version__, message=f"%(prog)s %(version)s (writes database schema {SCHEMA_VERSION})", package_name="forwarding"
)
@click.option(
    "-e",
    "--env-file",
    type=click.Path(exists=True, dir_okay=False),
    help=(
        "Read settings from FILE too: NAME=VALUE lines, as deploy/forwarding.env. The environment's own"
        f" win. Default: {DEFAULT_ENV_FILE} if it exists and FORWARDING_DATABASE is not set"
        ' (FORWARDING_ENV_FILE names another, "" none).'
    ),
)
@click.pass_context
def main(ctx, env_file):
    session = ctx.ensure_object(Session)
    if env_file is not None:
        _read_env_file(session, env_file, "--env-file")
    elif "FORWARDING_ENV_FILE" in session.environ:
        if chosen := session.environ["FORWARDING_ENV_FILE"]:
            _read_env_file(session, chosen, "FORWARDING_ENV_FILE")
    elif "FORWARDING_DATABASE" not in session.environ and os.path.exists(DEFAULT_ENV_FILE):
        _read_env_file(session, DEFAULT_ENV_FILE, None)


def _session():
    return click.get_current_context().find_object(Session)


def open_database(creates=False):
    """The app on the database of the settings in force, opened as `Session.open` does (as the
    database's owner, when run as root): for a command registered with `opens_database=False`,
    e.g. in the `produce` of `files.write_as_operator`."""
    return _session().open(creates)


def command(name, creates_database=False, opens_database=True, **attributes):
    """Register the decorated function as the command `name`, run in the app's context. Only a
    command that `creates_database` may start on a database that is not there yet; one that
    does not `opens_database` opens it itself (`open_database`), where and if it needs to."""

    def register(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            if not opens_database:
                return function(*args, **kwargs)
            with open_database(creates_database).app_context():
                return function(*args, **kwargs)

        return main.command(name, **attributes)(run)

    return register


def database_path():
    return _session().database_path()


def database_named():
    """The database, for a message: its path, and the settings file that chose it if any."""
    return _session().named()


class WholeNumber(click.ParamType):
    """An integer from `least` to `most` (no more than INT64_MAX when None), refused in plain
    words: "--limit must be a whole number, at least 1, not 'abc'"."""

    name = "integer"

    def __init__(self, least=1, most=None):
        self.least, self.most = least, most

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        most = INT64_MAX if self.most is None else self.most
        if value.isascii() and value.isdigit() and self.least <= int(value) <= most:
            return int(value)
        bounds = f"at least {self.least}" if self.most is None else f"from {self.least} to {self.most}"
        name = param.opts[0] if param.param_type_name == "option" else param.human_readable_name
        raise BadUsage(f"{name} must be a whole number, {bounds}, not {value!r}")


def echo_table(header, rows, align):
    """Rows of columns: all but the last padded to their widest and aligned by `align` ("<" or
    ">" for them all, or one of those per column), the last as it is."""
    aligns = align * (len(header) - 1) if len(align) == 1 else align
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header) - 1)]
    for row in [header, *rows]:
        click.echo("  ".join([*(f"{cell:{a}{w}}" for cell, a, w in zip(row, aligns, widths)), row[-1]]))


def warn_of_the_factory_password():
    if get_access().account().is_default:
        click.echo(f"Warning: {FACTORY_PASSWORD_WARNING}", err=True)


def counted(count, noun, plural=None):
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


# Registered as they are imported: the commands of each module.
from . import access, backups, rules, settings  # noqa: E402, F401
