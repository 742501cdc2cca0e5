#!/usr/bin/env bash
# Installs Debian's chromium (/usr/bin/chromium) for the browser tests of the web page
# (tests/test_web.py). Idempotent and quiet: does nothing when /usr/bin/chromium is already there.
# Needs root (or sudo). Playwright's own browser download (`playwright install`) is not used.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_chromium.sh: /usr/bin/chromium is missing and this is not root (no sudo)" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install_chromium.sh: apt-get install chromium failed" >&2
    exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
    echo "install_chromium.sh: chromium installed but /usr/bin/chromium is missing" >&2
    exit 1
fi
echo "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
