# spse: two commands for a newcomer whose machine has only python3 and make.
#   make demo   a year of history by spse backfill, the daily Airflow DAG on its last day (2026-01-15), the summary
#   make test   the whole test suite
# uv is installed into a project-local bootstrap venv (.tools/) when it is not on PATH.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV ?= $(shell command -v uv 2>/dev/null)
ifeq ($(strip $(UV)),)
UV := $(CURDIR)/.tools/bin/uv
endif
# `uv run` alone would re-sync without the airflow extra and remove Airflow.
RUN := $(UV) run --frozen --extra airflow

export SPSE_HOME ?= $(CURDIR)/var

# The demo: a year of history (local days 2025-01-16 .. 2026-01-14) built by `spse backfill`, then
# the daily run of 06:00 Europe/Paris on 2026-01-16 (05:00 UTC, CET), which reports on 2026-01-15.
DEMO_FIRST_DAY := 2025-01-16
DEMO_BACKFILL_LAST := 2026-01-14
DEMO_DAY := 2026-01-15
DEMO_LOGICAL_DATE := 2026-01-16T05:00:00+00:00

AIRFLOW_DIR := $(CURDIR)/.airflow
AIRFLOW_ENV := AIRFLOW_HOME=$(AIRFLOW_DIR) \
	AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///$(AIRFLOW_DIR)/airflow.db \
	AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__LOAD_EXAMPLES=False

.PHONY: help setup demo test lint bench clean distclean stack-check

help:
	@echo "make demo         backfill the demo year, run spse_daily through Airflow on its last day ($(DEMO_DAY)), print the summary"
	@echo "make test         run the whole test suite"
	@echo "make lint         ruff (numpy docstrings included) and sqlfluff on sql/ (DuckDB dialect)"
	@echo "make bench        the benchmark (baseline and spse in the same run)"
	@echo "make stack-check  the production services (PostgreSQL, Redis, Celery) run the DAG on this machine"
	@echo "make clean        remove runtime data (var/, .airflow/, caches); distclean also the venvs"

$(CURDIR)/.tools/bin/uv:
	@echo "uv not found on PATH: installing it into .tools/"
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/python -m pip install --quiet --disable-pip-version-check uv

# Bytecode compiled once here: this machine sets PYTHONDONTWRITEBYTECODE, and without .pyc files
# every process (Airflow task, worker, test subprocess) compiles pandas, scipy, xarray again.
.venv/.spse-synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra airflow --compile-bytecode
	$(RUN) python -m compileall -q spse dags
	@touch $@

setup: .venv/.spse-synced

demo: setup
	@mkdir -p $(AIRFLOW_DIR)
	$(RUN) spse demo
	$(RUN) spse backfill --from $(DEMO_FIRST_DAY) --to $(DEMO_BACKFILL_LAST)
	@echo "airflow db migrate (log: $(AIRFLOW_DIR)/db-migrate.log)"
	@$(AIRFLOW_ENV) $(RUN) airflow db migrate > $(AIRFLOW_DIR)/db-migrate.log 2>&1 \
		|| { tail -n 30 $(AIRFLOW_DIR)/db-migrate.log; echo "airflow db migrate failed: see $(AIRFLOW_DIR)/db-migrate.log"; exit 1; }
	@# `dags test` runs tasks whatever their pool; the pool is created so the same metadata DB serves a scheduler too.
	@$(AIRFLOW_ENV) $(RUN) airflow pools set spse_writer 1 "spse_daily writing steps" > $(AIRFLOW_DIR)/pools.log 2>&1 \
		|| { cat $(AIRFLOW_DIR)/pools.log; echo "airflow pools set failed"; exit 1; }
	@echo "airflow dags test spse_daily $(DEMO_LOGICAL_DATE) (log: $(AIRFLOW_DIR)/dags-test.log)"
	@$(AIRFLOW_ENV) $(RUN) airflow dags test spse_daily $(DEMO_LOGICAL_DATE) > $(AIRFLOW_DIR)/dags-test.log 2>&1 \
		|| { tail -n 40 $(AIRFLOW_DIR)/dags-test.log; echo "spse_daily failed: see $(AIRFLOW_DIR)/dags-test.log"; exit 1; }
	$(RUN) spse summary --date $(DEMO_DAY)

# One worker per core (pytest-xdist); a file's tests stay in one worker, with its module fixtures.
test: setup
	$(RUN) pytest -n auto --dist loadfile

lint: setup
	$(RUN) ruff check .
	$(RUN) sqlfluff lint sql/

bench: setup
	for script in bench/bench_*.py; do $(RUN) python "$$script"; done

stack-check: setup
	bash scripts/stack_check.sh

clean:
	rm -rf var .airflow .pytest_cache .ruff_cache bench/out
	find . -name __pycache__ -type d -not -path './.venv/*' -not -path './.tools/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf .venv .tools
