# tenderhall — `make help` lists the targets. The README's two commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv/bin
PG_URL ?= $(if $(filter postgres%,$(DATABASE_URL)),$(DATABASE_URL),postgresql://postgres@127.0.0.1:5432/test)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install install-dev run demo test lint types imports migrations-check test-sqlite test-postgresql messages frontend bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

install: ## create .venv and install the pinned runtime dependencies
	@scripts/bootstrap base

install-dev: ## install the runtime, test and lint dependencies, and the system packages the tests need
	@scripts/bootstrap dev
	@scripts/system-deps

run: install ## migrate SQLite, load demo data and serve on http://127.0.0.1:8000
	$(VENV)/tenderhall migrate --no-input
	$(VENV)/tenderhall demo-data
	$(VENV)/tenderhall serve --host $(HOST) --port $(PORT)

test: install-dev lint types imports migrations-check test-sqlite test-postgresql ## everything CI runs
	@echo "make test: all checks passed on SQLite and PostgreSQL"

lint: ## ruff and ruff format
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

types: ## mypy, strict, with the Django plugin
	$(VENV)/mypy .

imports: ## import-linter contracts (the layers of DESIGN.md)
	$(VENV)/lint-imports

migrations-check: ## no model change without its migration
	DATABASE_URL= TENDERHALL_DATA_DIR=$$(mktemp -d) $(VENV)/tenderhall makemigrations --check --dry-run

test-sqlite: ## the test suite on SQLite
	@mkdir -p .test-results
	env -u DATABASE_URL TENDERHALL_EXPECT_DB=sqlite $(VENV)/pytest -n 2 --junitxml=.test-results/pytest-sqlite.xml $(PYTEST_ARGS)

test-postgresql: ## the test suite on PostgreSQL ($(PG_URL))
	@mkdir -p .test-results
	@scripts/ensure-postgres "$(PG_URL)"
	DATABASE_URL="$(PG_URL)" TENDERHALL_EXPECT_DB=postgresql $(VENV)/pytest -n 2 --junitxml=.test-results/pytest-postgresql.xml $(PYTEST_ARGS)

messages: ## rebuild the translation catalogues after changing texts, then compile them (docs/translations.md)
	$(VENV)/tenderhall makemessages -l en -l zh_Hans --no-obsolete --add-location=file \
		-i .venv -i var -i bench -i tenderhall.egg-info -i .test-results -i frontend
	cd tenderhall && ../$(VENV)/tenderhall compilemessages

frontend: ## rebuild the browser sealing bundle from frontend/ (needs Node.js 20 + npm); commit the result
	@scripts/build-frontend

bench: install-dev ## the benchmark harness: every figure on SQLite and PostgreSQL, report in bench/results/
	$(VENV)/python -m bench --postgresql "$(PG_URL)" $(BENCH_ARGS)
