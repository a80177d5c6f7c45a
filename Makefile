# Thin wrappers around scripts/; the scripts hold the logic.
# `make test ARGS="-k foo"` passes ARGS to both pytest runs.
ARGS ?=

.PHONY: setup run test bench

setup:
	./scripts/setup.sh

run: setup
	./scripts/run.sh

test: setup
	./scripts/test.sh $(ARGS)

# Benchmark (not part of test): `make bench ARGS="1000 10000"`; see tests/perf/README.md.
bench: setup
	./scripts/bench.sh $(ARGS)
