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

# The monolith's databases are created and seeded as in phase 0; from phase 1 on, each
# service then opens only its own (`serve <app> --migrate`).
migrate: install
	PHASE=0 EXTRACTED= $(PY) manage.py migrate_all -v0

seed: migrate
	PHASE=0 EXTRACTED= $(PY) manage.py seed_demo

# First refuse, in one line, a setting the platform cannot start without: before any process.
run: install
	@$(PY) -m ecommerce.wiring.launch $(PHASE)
	@$(MAKE) --no-print-directory seed
	$(PY) manage.py run_platform --phase $(PHASE) --port $(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install $(BUF)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/hadolint docker/Dockerfile
	$(MAKE) --no-print-directory proto-lint

bench: install
	$(PY) -m benchmarks.catalogue $(BENCH_ARGS)

clean:
	rm -rf var $(VENV)

# The catalogue at scale: each query family's p50/p99 and statements at 1k, 100k and 1M products
# (docs/database.md). BENCH_DB_ARGS="--sizes 1000,100000" for a quick run.
.PHONY: bench-db
bench-db: install
	$(PY) -m benchmarks.database $(BENCH_DB_ARGS)

# Connections: CONN_MAX_AGE=0, persistent connections and psycopg's pool side by side, for the web
# (wrk on the uncached catalogue) and the workers (the checkout saga) (docs/database.md).
.PHONY: bench-connections
bench-connections: install
	$(PY) -m benchmarks.connections $(BENCH_CONNECTIONS_ARGS)

# Event pipeline: relay publish rate, consumer events/s, end-to-end lag at a steady 1,000 events/s.
.PHONY: bench-analytics
bench-analytics: install
	@mkdir -p var
	$(PY) -m benchmarks.analytics $(BENCH_ARGS)

# gRPC contracts: buf comes from npm (@bufbuild/buf), pinned in package.json.
BUF := node_modules/.bin/buf
# What `buf breaking` compares against: main's history, in a worktree or a fresh clone alike.
BREAKING_AGAINST ?= main
.PHONY: proto proto-lint

$(BUF): package.json
	npm install --no-audit --no-fund --silent
	touch $@

proto: install
	$(PY) -m ecommerce.transports.grpc.generate

proto-lint: install $(BUF)
	$(BUF) lint
	@if git cat-file -e $(BREAKING_AGAINST):buf.yaml 2>/dev/null; then \
		echo "buf breaking --against $(BREAKING_AGAINST)"; \
		$(BUF) breaking --against "$$(git rev-parse --git-common-dir)#ref=$(BREAKING_AGAINST)"; \
	else \
		echo "buf breaking: $(BREAKING_AGAINST) has no contracts yet, nothing to compare"; \
	fi
	$(PY) -m ecommerce.transports.grpc.generate --check

# Phase parity: the API, saga and crash-recovery suites, unchanged, in phase 0 (one process),
# in phases 1 and 2 (the cart, then the catalogue too, as services) and in phase 3 (every app a
# real `serve` process over gRPC, each on its own database).
PARITY_SUITES := tests/accounts/test_accounts_api.py tests/cart/test_cart_api.py \
	tests/cart/test_cart_input.py tests/product/test_product_api.py tests/payment/test_webhook.py \
	tests/saga
.PHONY: test-parity test-phase1 test-phase2 test-phase3 test-embedded
test-phase1 test-phase2: test-phase%: install
	PHASE=$* $(PY) -m pytest -q $(PARITY_SUITES) $(PYTEST_ARGS)

# Phase 3 also follows one checkout's trace across every process and drives the console in a
# browser (phase 0 does both, in `make test`).
test-phase3: install
	PHASE=3 $(PY) -m pytest -q $(PARITY_SUITES) tests/tracing tests/console $(PYTEST_ARGS)

# The same suites in embedded mode, as `make run` starts it: SQLite files, the filesystem broker
# and a file cache, all in a scratch directory made for the run (settings/test_embedded.py).
test-embedded: install
	PHASE=0 EXTRACTED= $(PY) -m pytest -q --ds=settings.test_embedded $(PARITY_SUITES) \
		tests/platform/test_api_errors.py tests/platform/test_embedded.py $(PYTEST_ARGS)

test-parity: install
	PHASE=0 $(PY) -m pytest -q $(PARITY_SUITES) $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-phase1 test-phase2 test-phase3

# The whole journey under load (benchmarks/load.py): Locust shoppers, headless and bounded,
# against phase 0 and phase 3 started here; LOAD_URL=http://... loads a platform already running.
.PHONY: load
load: install
	$(PY) -m benchmarks.load $(if $(LOAD_URL),--url $(LOAD_URL)) $(LOAD_ARGS)

# Checkout saga: latency and throughput at 1, 16 and 64 sagas in flight (RabbitMQ, PostgreSQL).
.PHONY: bench-saga
bench-saga: install
	$(PY) -m benchmarks.saga

# Phases: one port call in-process, over our gRPC adapter and over bare grpcio (the floor), then
# checkout latency and throughput in phase 0 and phase 3.
.PHONY: bench-phases
bench-phases: install
	$(PY) -m benchmarks.grpc_call $(BENCH_GRPC_ARGS)
	@echo
	$(PY) -m benchmarks.phases $(BENCH_PHASES_ARGS)

# The journey console's first render: first contentful paint of each main view in Chromium,
# beside a static page of the same size (docs/performance.md).
.PHONY: bench-console
bench-console: install
	$(PY) -m benchmarks.console $(BENCH_CONSOLE_ARGS)

# The journey console's main views, as docs/console/*.png: the browser tests (tests/console)
# save them as they go, in phase 0 and, for the topology, in phase 3 with every service up.
.PHONY: screenshots
screenshots: install
	CONSOLE_SCREENSHOTS=docs/console PHASE=0 $(PY) -m pytest -q tests/console/test_console_browser.py $(PYTEST_ARGS)
	CONSOLE_SCREENSHOTS=docs/console PHASE=3 $(PY) -m pytest -q tests/console/test_console_browser.py -k processes_of_the_phase $(PYTEST_ARGS)
