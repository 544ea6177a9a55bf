"""The environment file of the deployment (deploy/forwarding.env), read for `forwarding --env-file`.

The format is systemd's EnvironmentFile, which a shell can also source: `NAME=VALUE` lines,
blank lines, and comments starting with `#` or `;`. A value may be quoted whole in `'` or `"`.
"""

import re

_LINE = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)", re.ASCII)


class BadLine(ValueError):
    """A line that is not `NAME=VALUE`; the message says which."""


def parse(text, source):
    """The variables `text` sets, in order; `source` names it in errors."""
    variables = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            raise BadLine(f"{source}, line {number}: not NAME=VALUE: {line[:60]!r}")
        name, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        variables[name] = value
    return variables
