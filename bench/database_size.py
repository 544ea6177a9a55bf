"""The database's worst-case size with the bounds' defaults, from a measured sample.

    .venv/bin/python -m bench.database_size [--sample RULES CHANGES] [--smoke]

On a fresh database in a temporary directory, through the storage layer: RULES (10,000) rules of the
largest kind (8 entries of 512 digits, each with a link_id) pushed in pushes of 10,000, then
CHANGES (5,000) writes that each replace one of them with another rule of that size (each a history
record of the largest kind: both states of such a rule). The file's growth in each step, over
the rules written and over the bytes the history counts for, is the size of one rule on disk and
the file's bytes per history byte; times FORWARDING_MAX_RULES and FORWARDING_HISTORY_MAX_BYTES
(the defaults), it is the worst case: every rule the largest, the history full of the largest
records. A smaller record costs more per byte but is bounded by FORWARDING_HISTORY_LIMIT records
first: 100,000 of the smallest records take a few megabytes. `--smoke`: 1,000 rules and 500 changes.

The last line is the figures as JSON.
"""

import argparse
import json
import os
import shutil
import tempfile

from forwarding.limits import HISTORY_MAX_BYTES, MAX_ENTITIES, MAX_ENTRY_LENGTH, MAX_RULES
from forwarding.storage import Storage

PUSH = 10_000


def largest(digit):
    return [str(digit) * MAX_ENTRY_LENGTH] * MAX_ENTITIES


def file_bytes(storage, path):
    storage.database.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return os.path.getsize(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sample", type=int, nargs=2, default=(10_000, 5_000), metavar=("RULES", "CHANGES"), help="the sample's sizes"
    )
    parser.add_argument("--smoke", action="store_true", help="a small sample (1,000 rules, 500 changes)")
    rules, changes = (1000, 500) if parser.parse_args().smoke else parser.parse_args().sample

    directory = tempfile.mkdtemp(prefix="bench-size-")
    path = os.path.join(directory, "forwarding.db")
    storage = Storage(path)
    try:
        storage.database.prepare(lambda: ("admin", "not a hash"), lambda: "SERIAL")
        empty = file_bytes(storage, path)
        for start in range(1, rules + 1, PUSH):
            numbers = range(start, min(start + PUSH, rules + 1))
            storage.rules.apply_link_items([(n, n, largest(1)) for n in numbers])
        storage.database.connection.execute("DELETE FROM history")  # the rules alone
        storage.database.connection.execute("VACUUM")
        with_rules = file_bytes(storage, path)
        for n in range(1, changes + 1):
            storage.rules.put_rule(n, largest(2), request_id="8c5e2d0f6b1a4e7c9d3f2a1b0c9d8e7f")
        with_history = file_bytes(storage, path)
        (counted,) = storage.database.connection.execute("SELECT sum(size) FROM history").fetchone()
    finally:
        storage.close()
        shutil.rmtree(directory)

    per_rule = (with_rules - empty) / rules
    per_history_byte = (with_history - with_rules) / counted
    worst = {
        "rule_bytes_on_disk": round(per_rule),
        "history_file_bytes_per_counted_byte": round(per_history_byte, 3),
        "rules_mib": round(per_rule * MAX_RULES / 2**20),
        "history_mib": round(per_history_byte * HISTORY_MAX_BYTES / 2**20),
    }
    worst["total_mib"] = worst["rules_mib"] + worst["history_mib"]
    print(f"{rules:,} largest rules: {per_rule:,.0f} bytes each on disk (indexes included)")
    print(f"{changes:,} largest history records: {counted / changes:,.0f} bytes counted each,")
    print(f"  {per_history_byte:.3f} bytes of file per byte counted (indexes included)")
    print(
        f"worst case: {MAX_RULES:,} rules {worst['rules_mib']} MiB + history"
        f" {HISTORY_MAX_BYTES // 2**20} MiB counted, {worst['history_mib']} MiB on disk"
        f" = {worst['total_mib']} MiB"
    )
    print(json.dumps(worst))


if __name__ == "__main__":
    main()
