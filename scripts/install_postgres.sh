#!/usr/bin/env bash
# Installs Debian's PostgreSQL server binaries (initdb, pg_ctl) for tests/pg.py, which starts a
# throwaway server per test session. Idempotent and quiet: does nothing when they are present.
# No cluster is created or started here. Needs root (or sudo) and apt-get.
set -euo pipefail

have_postgres() {
    command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1 && return 0
    compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null
}

if have_postgres; then
    exit 0
fi
bash "$(dirname "$0")/apt_install.sh" install_postgres.sh postgresql
if ! have_postgres; then
    echo "install_postgres.sh: postgresql installed but initdb/pg_ctl not found" >&2
    exit 1
fi
