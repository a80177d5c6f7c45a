#!/usr/bin/env bash
# Benchmark harness: scripts/bench.sh [N ...] [--seconds S] [--explain] [--keep] ...
# Seeds N repositories (default: 1000 10000) in a throwaway PostgreSQL cluster, serves
# Berth with gunicorn and prints latency and throughput against a trivial-view ceiling.
# See tests/perf/README.md. Not run by `make test` or CI.
set -euo pipefail

cd "$(dirname "$0")/.."

# wrk drives the load when present (it costs the server far less CPU than a Python
# client); without it the harness falls back to its own threaded client.
if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "bench: installing wrk"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q --no-install-recommends wrk >/dev/null 2>&1 ||
            { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends wrk >/dev/null; } ||
            echo "bench: could not install wrk; using the Python load generator" >&2
    else
        echo "bench: wrk not installed (not root); using the Python load generator" >&2
    fi
fi

exec .venv/bin/python -m tests.perf.harness "$@"
