#!/usr/bin/env bash
# Run the test suite again on a real PostgreSQL server: install Debian's postgresql when it is missing
# (as root), start a cluster when none is running, make the kb role, then point the tests at it.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  else
    echo "test-postgres: PostgreSQL is not installed; install it with: sudo apt-get install postgresql" >&2
    exit 1
  fi
fi
cluster=$(pg_lsclusters --no-header | head -n 1)
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  pg_createcluster "$version" main >/dev/null
  cluster=$(pg_lsclusters --no-header | head -n 1)
fi
read -r version name port status _ <<<"$cluster"
if [ "$status" != "online" ]; then
  pg_ctlcluster "$version" "$name" start
fi
su postgres -c "psql -p $port -qAtc \"SELECT 1 FROM pg_roles WHERE rolname='kb'\"" | grep -q 1 \
  || su postgres -c "psql -p $port -qc \"CREATE ROLE kb LOGIN PASSWORD 'kb' CREATEDB\""

export KB_TEST_POSTGRES_URL="postgresql+psycopg://kb:kb@127.0.0.1:$port/postgres"
echo "test-postgres: running the suite on PostgreSQL $version (port $port)"
python3 -m pytest "$@"
