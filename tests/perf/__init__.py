"""Benchmark harness (``scripts/bench.sh``); not part of the test suite."""
