# Thin wrappers around scripts/; the scripts hold the logic.
# `make test ARGS="-k foo"` passes ARGS to both pytest runs.
ARGS ?=

.PHONY: setup run test

setup:
	./scripts/setup.sh

run: setup
	./scripts/run.sh

test: setup
	./scripts/test.sh $(ARGS)
