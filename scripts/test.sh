#!/usr/bin/env bash
# Set up .venv, then run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# The report test drives a headless Chromium (Debian package chromium).
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: no chromium found; the HTML report test needs it (apt-get install chromium)" >&2
  fi
fi
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
