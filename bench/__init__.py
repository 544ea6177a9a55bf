"""Benchmarks against floors measured in the same run. Run each from the repository's root as a
module, `.venv/bin/python -m bench.<name>`, as they import each other's helpers; `--smoke` runs one
at its smallest size, to show that it still works without timing anything."""
