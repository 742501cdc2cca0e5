#!/usr/bin/env bash
# Installs Debian's chromium (/usr/bin/chromium) for the browser tests of the web page
# (tests/test_web.py). Idempotent and quiet: does nothing when /usr/bin/chromium is already there.
# Needs root (or sudo) and apt-get. Playwright's own browser download (`playwright install`) is not used.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
bash "$(dirname "$0")/apt_install.sh" install_chromium.sh chromium fonts-dejavu-core
if [ ! -x /usr/bin/chromium ]; then
    echo "install_chromium.sh: chromium installed but /usr/bin/chromium is missing" >&2
    exit 1
fi
echo "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
