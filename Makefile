# One target each to install, run, test, lint and benchmark. `make run` and `make test` work on a fresh machine.
#
# Everything installs into the project's own virtual environment (.venv), never into the system Python, from
# the hashed lock files (requirements.lock for the service, requirements-dev.lock for the tests). `make lock`
# refreshes them; `make check-latest` tries the newest versions the lock would allow in a throwaway venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
# The CPU build of torch: `pip install torch==2.13.0` takes the one these machines carry (the lock leaves torch
# out so that no CUDA build is ever pulled in; it is resolved as the CPU build, which needs no nvidia packages).
TORCH := torch==2.13.0
TORCH_LOCKED := torch==2.13.0+cpu

.PHONY: install install-dev run test test-postgres lint bench bench-encoders eval browser-deps lock check-latest

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "kb needs Python 3.11 (the lock is made for it); set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV) || { echo "could not make $(VENV): on Debian or Ubuntu, apt-get install python3-venv"; exit 1; }
	$(PIP) install --quiet --upgrade "pip>=24"

$(VENV)/.installed: requirements.lock pyproject.toml | $(PY)
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet --require-hashes -r requirements.lock
	$(PIP) install --quiet --no-deps -e .
	@touch $@

$(VENV)/.installed-dev: requirements-dev.lock pyproject.toml | $(PY)
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet --require-hashes -r requirements-dev.lock
	$(PIP) install --quiet --no-deps -e .
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(VENV)/bin/kb serve --host $${KB_HOST:-127.0.0.1} --port $${KB_PORT:-8000}

test: install-dev browser-deps
	$(PY) -m pytest

test-postgres: install-dev
	PATH="$(abspath $(VENV))/bin:$$PATH" bash scripts/test-postgres.sh --ignore=tests/browser

lint: install-dev
	$(VENV)/bin/ruff check kb ingest search web tests bench

bench: install-dev
	$(PY) bench/bench_ingest.py

bench-encoders: install-dev
	$(PY) bench/bench_encoders.py

# Refresh both lock files from pyproject.toml (newest versions allowed, for CPython 3.11 on Linux x86_64).
lock: install-dev
	$(PIP) install --quiet "uv>=0.5"
	echo "$(TORCH_LOCKED)" > $(VENV)/torch-constraint.txt
	for extra in "" "--extra dev"; do \
	  out=requirements$${extra:+-dev}.lock; \
	  $(VENV)/bin/uv pip compile pyproject.toml $$extra --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	    --generate-hashes --no-emit-package torch --find-links /opt/wheels -c $(VENV)/torch-constraint.txt \
	    --custom-compile-command "make lock" -o $$out --quiet || exit 1; \
	done

# The scheduled-style check: the newest versions pyproject.toml allows, in a throwaway venv, with the encoder
# benchmark; it fails when the encoder kb would choose there is slower than plain fp32 or drifts from its vectors.
check-latest: | $(PY)
	rm -rf .venv-latest && $(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --disable-pip-version-check $(TORCH)
	.venv-latest/bin/python -m pip install --quiet --disable-pip-version-check -e .
	.venv-latest/bin/python bench/bench_encoders.py --quick --check

# What the browser tests (tests/browser) need beyond the Python packages: Chromium (never `playwright install`:
# the Debian Chromium is used) and axe-core from package-lock.json.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "browser-deps: /usr/bin/chromium is missing; install it with: sudo apt-get install chromium"; fi; \
	fi
	npm ci --no-audit --no-fund --silent
