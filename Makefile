# One target each to install, run, test, lint and benchmark. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: install run test test-postgres lint bench eval browser-deps

install:
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[dev]"

run: install
	kb serve --host $${KB_HOST:-127.0.0.1} --port $${KB_PORT:-8000}

test: install browser-deps
	$(PYTHON) -m pytest

test-postgres: install
	bash scripts/test-postgres.sh --ignore=tests/browser

lint:
	ruff check kb ingest search web tests bench

bench: install
	$(PYTHON) bench/bench_ingest.py

# What the browser tests (tests/browser) need beyond `make install`: Chromium, the playwright package
# (never `playwright install`: the Debian Chromium is used) and axe-core from package-lock.json.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "browser-deps: /usr/bin/chromium is missing; install it with: sudo apt-get install chromium"; fi; \
	fi
	$(PIP) install --quiet playwright
	npm ci --no-audit --no-fund
