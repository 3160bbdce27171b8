# Two commands on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
NODE_STAMP := node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup lint typecheck migrations-check db serve worker beat bench clean-db

run: $(RUNTIME_STAMP) db  ## Serve the platform with the demo district on http://127.0.0.1:8000
	$(PY) manage.py seed_demo --if-empty
	@# The last two nights' pipeline: mastery from the demo evidence, paths and pacing, and alerts (they open
	@# on the second consecutive night). A rerun the same day writes nothing.
	$(PY) manage.py run_nightly --nights 2
	$(PY) manage.py runserver $(HOST):$(PORT)

test: $(DEV_STAMP) db lint typecheck migrations-check  ## Lint, layer check, types, migrations, whole test suite
	$(VENV)/bin/pytest

setup: $(DEV_STAMP)

# A virtual environment from a Python 3.12+ found by scripts/find-python; rebuilt if it is older.
$(PY):
	@if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then rm -rf $(VENV); fi
	@if [ ! -x $(PY) ]; then interpreter=$$(scripts/find-python) && echo "Using $$interpreter" && \
		"$$interpreter" -m venv $(VENV); fi

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt $(NODE_STAMP) | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(RUNTIME_STAMP) $@

# The npm dev dependencies (axe-core for the accessibility browser tests), exactly as package-lock.json pins
# them; reinstalled when node_modules/ is missing or the lock file changes. Without npm the accessibility tests
# skip, except in CI (CI=true), where that is an error.
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	elif [ -n "$$CI" ]; then \
		echo "error: npm is not installed; the accessibility tests need axe-core from npm." >&2; \
		echo "Install Node.js and npm (Debian: apt-get install nodejs npm), then run make test again." >&2; \
		exit 1; \
	else \
		echo "warning: npm is not installed, so the accessibility tests will be skipped." >&2; \
		echo "Install Node.js and npm (Debian: apt-get install nodejs npm) to run them." >&2; \
	fi

# The database of DATABASE_URL (or the embedded one) exists and is migrated.
db: $(RUNTIME_STAMP)
	$(PY) -m plplatform.ensure_database
	$(PY) manage.py migrate --noinput

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy .

migrations-check: $(DEV_STAMP)
	$(PY) manage.py makemigrations --check --dry-run

worker: $(RUNTIME_STAMP)
	$(VENV)/bin/celery -A plplatform worker --loglevel=INFO

beat: $(RUNTIME_STAMP)
	$(VENV)/bin/celery -A plplatform beat --loglevel=INFO

# Stops the embedded PostgreSQL and deletes its data folder (only the embedded one).
clean-db:
	@if [ -f .pgdata/postmaster.pid ]; then kill $$(head -1 .pgdata/postmaster.pid) 2>/dev/null; sleep 2; fi
	rm -rf .pgdata
