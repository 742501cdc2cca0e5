#!/usr/bin/env bash
# Builds the investigator page's vendor files: installs web/package-lock.json's packages (only when
# node_modules is missing or older than the lock file) and copies the browser builds into
# service/static/vendor/. Idempotent; a no-op run takes well under a second.
# Usage: web/build.sh   (from anywhere; needs node >= 18 and npm)
set -euo pipefail
cd "$(dirname "$0")"

command -v npm >/dev/null 2>&1 || { echo "web/build.sh: npm not found (need Node.js >= 18)" >&2; exit 1; }

stamp=node_modules/.package-lock.json   # npm writes it on every install
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
node copy-vendor.mjs
