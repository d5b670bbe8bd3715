#!/usr/bin/env bash
# Write a new Alembic migration for the difference between kb/store/models.py and the newest migration.
# Usage: scripts/make-migration.sh NNNN "what changed"
set -euo pipefail
cd "$(dirname "$0")/.."
revision="$1"; message="$2"
scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT
python - "$scratch" "$revision" "$message" <<'PY'
import sys
from pathlib import Path
from alembic import command
from sqlalchemy import create_engine
from kb.store.db import migration_config

scratch, revision, message = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
engine = create_engine(f"sqlite:///{scratch / 'scratch.sqlite3'}")
config = migration_config(engine)
command.upgrade(config, "head")
command.revision(config, message=message, autogenerate=True, rev_id=revision)
PY
ruff format -q kb/store/migrations/versions
ruff check -q --fix kb/store/migrations/versions
