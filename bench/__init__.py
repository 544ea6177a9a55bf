"""Benchmarks against floors measured in the same run. Run each from the repository's root as a
module, `.venv/bin/python -m bench.<name>`: run as a script, bench/http.py would hide the standard
library's `http` from everything the script imports."""
