# The platform's commands. `make run` and `make test` are the two a fresh clone needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PHASE ?= 0
PORT ?= 8000
export PHASE PORT

.PHONY: run test lint install migrate seed bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate_all -v0

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	$(PY) manage.py run_platform --phase $(PHASE) --port $(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: install
	$(PY) -m benchmarks.catalogue

clean:
	rm -rf var $(VENV)
