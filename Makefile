# One target each to install, run, test, lint and benchmark. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: install run test lint bench eval

install:
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[dev]"

run: install
	kb serve --host $${KB_HOST:-127.0.0.1} --port $${KB_PORT:-8000}

test: install
	$(PYTHON) -m pytest

lint:
	ruff check kb ingest search web tests bench

bench: install
	$(PYTHON) bench/bench_ingest.py
