#!/usr/bin/env bash
# Installs a Java runtime (Debian's openjdk-17-jre-headless) for the Spark engine's tests
# (tests/graphs/test_spark.py, PySpark in local mode). Idempotent and quiet: does nothing when a
# java of version 17 or newer is on PATH. Needs root (or sudo) and apt-get.
set -euo pipefail

have_java() {
    command -v java >/dev/null 2>&1 || return 1
    local v
    v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
    [ -n "$v" ] && [ "$v" -ge 17 ]
}

if have_java; then
    exit 0
fi
bash "$(dirname "$0")/apt_install.sh" install_java.sh openjdk-17-jre-headless
if ! have_java; then
    echo "install_java.sh: openjdk-17-jre-headless installed but no java 17+ on PATH" >&2
    exit 1
fi
