# The portal platform: one Makefile for people and for CI (.ci/run). `make help` lists the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check

# What pytest runs and how: `make test PYTEST_PATHS=tests/unit PYTEST_ARGS="-k login -x"`.
PYTEST_PATHS ?= tests
PYTEST_ARGS ?=
# Parallel by test file (module fixtures start once): every test owns its ports, databases and,
# with embedded defaults, a private Redis per xdist worker.
PYTEST_WORKERS ?= 2
# On the machine's Redis each xdist worker gwN takes database TEST_REDIS_URL's minus N (tests/support/
# redis_server.py), so test-pg may run in parallel; the fault suite runs serially there (a fault on the
# shared server reaches every worker). With TEST_REDIS_URL= (empty) each worker starts a private Redis.
PG_PYTEST_WORKERS ?= 0
TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

# The browser tests' headless browser: Debian's package (Playwright's own browser download is not
# reachable here). `make test` installs it when missing, so the browser tests never skip.
CHROMIUM ?= /usr/bin/chromium

# pytest exits 5 when it collected nothing: for this project that is a mistake, never a pass.
define pytest
	rc=0; $(BIN)/pytest -n $(1) $(if $(filter-out 0,$(1)),--dist loadfile) $(PYTEST_ARGS) $(PYTEST_PATHS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make: pytest collected no tests from '$(PYTEST_PATHS)'" >&2; fi; \
	exit $$rc
endef

.PHONY: help venv run test test-pg faults lint bench migrate clean distclean

help: ## list the targets
	@echo "Portal platform. Usage: make <target>"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-9s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "Configuration: environment variables, see README.md and docs/operations.md."

venv: $(STAMP) ## create .venv with the pinned dependencies (re-installs only when requirements change)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
		|| { echo "make: $(VENV) must be Python 3.11 (set PYTHON=...; rm -r $(VENV))" >&2; exit 1; }
	$(PIP) install -q -r requirements-dev.txt
	$(PIP) install -q --no-deps -e .
	@touch $@

run: venv ## start the whole platform at http://127.0.0.1:8080 (PORT changes it); Ctrl-C stops it
	exec $(BIN)/portal run

$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tests (tests/browser)"
	@export DEBIAN_FRONTEND=noninteractive; \
	apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@test -x $(CHROMIUM) || { echo "make: $(CHROMIUM) is still missing (apt-get install chromium as root)" >&2; exit 1; }

test: venv $(CHROMIUM) ## run the whole test suite on embedded defaults (SQLite files, private Redis servers)
	@$(call pytest,$(PYTEST_WORKERS))

test-pg: venv $(CHROMIUM) ## the same suite on this machine's PostgreSQL and Redis (TEST_PG_URL, TEST_REDIS_URL)
	@export PORTAL_TEST_PG_URL='$(TEST_PG_URL)'; \
	$(if $(TEST_REDIS_URL),export PORTAL_TEST_REDIS_URL='$(TEST_REDIS_URL)';,unset PORTAL_TEST_REDIS_URL;) \
	$(call pytest,$(PG_PYTEST_WORKERS))

lint: venv ## ruff on everything, mypy on shared/ and services/
	$(BIN)/ruff check shared services tests bench
	$(BIN)/mypy shared services

faults: venv ## the fault-injection suite with the long outages (minutes); prints the figures of docs/reliability.md
	PORTAL_FAULTS=long $(BIN)/pytest -p no:cacheprovider -m faults $(PYTEST_ARGS) tests/faults

bench: venv ## run every benchmark in bench/ and print each figure beside its baseline
	$(BIN)/python -m bench

migrate: venv ## apply every service's migrations (portal run does this on start)
	$(BIN)/portal migrate

clean: ## remove caches and build leftovers (keeps .venv and var/, which holds data and secrets)
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -print -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .mypy_cache build dist *.egg-info

distclean: clean ## also remove .venv and var/ (local databases, Redis data, generated secrets)
	rm -rf $(VENV) var
