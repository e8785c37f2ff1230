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

.PHONY: run test install install-test lint clean

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

test: install-test
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-test
	$(PIP) install ruff mypy
	$(BIN)/ruff check mockgraph tests
	$(BIN)/ruff format --check mockgraph tests
	$(BIN)/mypy mockgraph

clean:
	rm -rf $(VENV) build dist *.egg-info
