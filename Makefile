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

.PHONY: run test install install-test browser lint clean

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

clean:
	rm -rf $(VENV) build dist *.egg-info
