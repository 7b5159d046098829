#!/usr/bin/env bash
# Regenerate requirements.lock from a fresh environment of pyproject.toml's ranges (latest that fit).
# Run after changing dependencies; commit the lock with the change.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --upgrade pip
"$tmp/venv/bin/python" -m pip install -q "torch==${LOMPO_TORCH_VERSION:-2.13.0}"
"$tmp/venv/bin/python" -m pip install -q -e ".[test]"
{
  echo "# Exact versions that scripts/setup.sh installs (Python 3.11, Linux x86_64): the environment in which"
  echo "# the datasets, runs and figures of this repository were made. pyproject.toml keeps the ranges for library"
  echo "# users. Regenerate after changing dependencies: bash scripts/lock.sh"
  "$tmp/venv/bin/python" -m pip freeze --exclude-editable | sed -E 's/^(torch==[0-9.]+)\+[a-z0-9]+$/\1/'
} > requirements.lock
echo "wrote requirements.lock ($(grep -c '==' requirements.lock) packages)"
