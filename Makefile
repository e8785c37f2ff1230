# Set-up and everyday commands. Each target builds the virtual environment it needs,
# so `make run` and `make test` work from a clean clone.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
# Extra options for `mockgraph serve`, e.g. make run ARGS="--seed 1 --port 9000".
ARGS ?=
# Extra options for pytest, e.g. make test PYTEST_ARGS="-k create -x".
PYTEST_ARGS ?=

# Extra options for bench/run.py, e.g. make bench BENCH_ARGS="--rounds 5 --duration 20".
BENCH_ARGS ?=
BENCH_TOOLS := bench/.tools
PRISM_VERSION := 5.16.0
WIREMOCK_VERSION := 3.13.2

.PHONY: run test install install-test browser lint clean bench bench-tools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The package is installed from a built wheel, never in editable mode, so tests see
# exactly the files that ship (a schema missing from the wheel fails them).
install: $(BIN)/python
	$(PIP) install --upgrade .

install-test: $(BIN)/python
	$(PIP) install --upgrade ".[test]"

run: install
	$(BIN)/mockgraph serve $(ARGS)

# The browser tests drive Debian's Chromium through Playwright, pointed at
# /usr/bin/chromium so that no browser is downloaded. As root, install it when missing.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
		else \
			echo "Chromium is missing: run 'sudo apt-get install -y chromium' for the browser tests."; \
		fi; \
	fi

test: install-test browser
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-test
	$(PIP) install ruff mypy
	$(BIN)/ruff check mockgraph tests
	$(BIN)/ruff format --check mockgraph tests
	$(BIN)/mypy mockgraph

# Load and in-process benchmarks; see docs/benchmarks.md. Not part of `make test`.
bench: bench-tools
	$(PIP) install --upgrade ".[bench]"
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/inprocess.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/hotspots.py --top 15
	$(BIN)/python bench/percreate.py
	$(BIN)/python bench/servers.py

# wrk from Debian's packages; Prism and WireMock (which ships its jar) from npm, kept
# in bench/.tools so nothing is installed globally. WireMock needs Java 17 on PATH.
bench-tools: $(BIN)/python
	command -v wrk >/dev/null || { apt-get update && apt-get -o DPkg::Lock::Timeout=300 install -y wrk; }
	command -v java >/dev/null || { echo "Java 17 is required for WireMock" >&2; exit 1; }
	test -x $(BENCH_TOOLS)/node_modules/.bin/prism || npm install --no-audit --no-fund \
		--prefix $(BENCH_TOOLS) @stoplight/prism-cli@$(PRISM_VERSION) wiremock@$(WIREMOCK_VERSION)

clean:
	rm -rf $(VENV) build dist *.egg-info
