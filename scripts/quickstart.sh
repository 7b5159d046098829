#!/usr/bin/env bash
# Set up .venv, then run the built-in default job (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/lompo quickstart "$@"
