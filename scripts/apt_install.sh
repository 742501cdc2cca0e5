#!/usr/bin/env bash
# Installs Debian packages quietly, for the scripts that set up what the tests need
# (install_postgres.sh, install_chromium.sh, install_java.sh).
#
#   bash scripts/apt_install.sh WHO PACKAGE [PACKAGE ...]
#
# WHO names the calling script in messages. Uses sudo when not root; needs apt-get. On failure
# prints apt-get's output and one line, and exits 1.
set -euo pipefail

who="$1"
shift

if ! command -v apt-get >/dev/null 2>&1; then
    echo "$who: no apt-get here; install $* yourself" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "$who: installing $* needs root (or sudo)" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "$@"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "$who: apt-get install $* failed" >&2
    exit 1
fi
