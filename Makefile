# The two front-door commands: `make run` (the whole stack, locally) and `make test`.
# Each does its own set-up: virtualenv, pinned requirements, system programs.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test deps system-deps lint

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

deps: $(VENV)/.installed system-deps

system-deps:
	scripts/system-packages.sh redis-server chromium pebble

run: deps
	scripts/run.sh

test: deps lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
