"""How the forward-entity pattern check grows on adversarial entries.

Each case is a long string that nearly matches one of the five patterns (so the regex engine
works hard before it fails); each is timed at growing lengths against the same regex the
service uses, with no length bound. Printed: nanoseconds per character, the ratio to the
floor (an all-digits near-miss of the same length, the cheapest pass), and the growth from the
shortest to the longest length divided by the growth of the length (1.0 is linear). Last, the
service's own check, which refuses entries over limits.MAX_ENTRY_LENGTH before the regex runs.

    .venv/bin/python -m bench.patterns [--smoke]

`--smoke` times each case once at the shortest length, to show that the benchmark still works.
"""

import argparse
import time

from forwarding.limits import ANY_PATTERN, MAX_ENTRY_LENGTH, is_forward_entity

LENGTHS = (1_000, 10_000, 100_000, 1_000_000)

# (name, prefix, repeated unit, suffix): the string is prefix + unit * n + suffix.
CASES = (
    ("digits + letter (floor)", "", "1", "x"),
    ("laskomex: digits + letter", "laskomex:", "1", "x"),
    ("vizit: digits + letter", "vizit:", "1", "x"),
    ("sip: user part, no @", "sip:", "a1", ""),
    ("sip: host labels, trailing dot", "sip:a@", "a.", ""),
    ("sip: labels with digits", "sip:a@", "1a1.", "-"),
    ("sip: one long label", "sip:a@", "a", ".b!"),
    ("sip: user@ dotted digits", "sip:a@", "1.", ""),
    ("sip: ip only, dotted digits", "sip:", "1.", ""),
    ("sip: ip only, with ports", "sip:", "1:1.", ""),
)


def entry(prefix, unit, suffix, length):
    return prefix + unit * max(1, (length - len(prefix) - len(suffix)) // len(unit)) + suffix


def seconds(check, text, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        check(text)
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="the shortest length only: does it still work?")
    lengths = LENGTHS[:1] if parser.parse_args().smoke else LENGTHS
    floor = {n: seconds(ANY_PATTERN.fullmatch, entry("", "1", "x", n)) / n for n in lengths}
    print("Regex alone, ns per character (ratio to the floor at that length):")
    print(f"{'case':32}" + "".join(f"{n:>18,}" for n in lengths) + "   growth/linear")
    for name, prefix, unit, suffix in CASES:
        texts = [entry(prefix, unit, suffix, n) for n in lengths]
        per_char = [seconds(ANY_PATTERN.fullmatch, text) / len(text) for text in texts]
        cells = "".join(f"{p * 1e9:9.1f} ({p / floor[n]:5.1f})" for p, n in zip(per_char, lengths))
        print(f"{name:32}{cells}   {per_char[-1] / per_char[0]:8.1f}")
    worst = entry("sip:a@", "a.", "", lengths[-1])
    print(
        f"\nThe service's check, bound {MAX_ENTRY_LENGTH} characters: an entry of {len(worst):,} characters is refused "
        f"in {seconds(is_forward_entity, worst) * 1e6:.1f} us; the regex alone took "
        f"{seconds(ANY_PATTERN.fullmatch, worst) * 1e3:.1f} ms."
    )
    bounded = entry("sip:a@", "a.", "", MAX_ENTRY_LENGTH)
    print(f"At the bound, the slowest case above takes {seconds(is_forward_entity, bounded) * 1e6:.1f} us.")


if __name__ == "__main__":
    main()
