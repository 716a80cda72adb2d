# Two commands do everything on a fresh machine with Python 3.9+ and make:
#   make run    set up, then start the identity service on its embedded durable graph
#   make test   set up, then run the whole test suite and the TinkerPop conformance gate
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFORMANCE_FLOOR := $(shell cat .ci/conformance-floor 2>/dev/null || echo 0)
REFERENCE_FLOOR := $(shell cat .ci/reference-floor 2>/dev/null || echo 0)
# the port of the reference Gremlin Server `make conformance` starts (empty: a free one)
REFERENCE_PORT ?=

.PHONY: setup run test test-fast conformance conformance-reference gremlin-server console bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: setup
	$(BIN)/identity serve

test: setup
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory conformance

test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not integration"

conformance: setup
	$(BIN)/python -m gremlin.conformance --url memory:// --core-steps --floor $(CONFORMANCE_FLOOR) \
		--known-failures .ci/conformance-known-failures
	$(BIN)/python -m gremlin.conformance --url endpoint --core-steps --floor $(CONFORMANCE_FLOOR) \
		--known-failures .ci/conformance-known-failures
	dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
		$(BIN)/python -m gremlin.conformance --url "file://$$dir/graph" --core-steps --floor $(CONFORMANCE_FLOOR) \
		--known-failures .ci/conformance-known-failures
	$(MAKE) --no-print-directory conformance-reference

# The same scenarios on a real Gremlin Server 3.7.3 with TinkerPop's test configuration
# (.ci/reference), started for the run and stopped after it: the reference the engine is held to.
conformance-reference: setup
	timeout 900 $(BIN)/python -m gremlin.conformance --url "reference$(if $(REFERENCE_PORT),?port=$(REFERENCE_PORT))" \
		--core-steps --floor $(REFERENCE_FLOOR) --known-failures .ci/reference-known-failures

gremlin-server: setup
	$(BIN)/python -m gremlin.server

console: setup
	$(BIN)/python -m gremlin.console ws://127.0.0.1:8182/gremlin

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
