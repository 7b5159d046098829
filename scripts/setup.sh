#!/usr/bin/env bash
# Create or reuse .venv at the repository root and install lompo with its test extras.
# torch==2.13.0 is installed first: that spelling takes the CPU wheel on local disk,
# any other spelling would download a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

# Headless rendering needs Mesa's EGL or OSMesa; install OSMesa when neither is present.
if ! ldconfig -p 2>/dev/null | grep -q -E "libEGL\.so|libOSMesa\.so"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq libosmesa6 libgl1-mesa-dri >/dev/null
  else
    echo "warning: no libEGL or libOSMesa found; install libosmesa6 for headless rendering" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.lompo-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import torch, dm_control, lompo" && touch "$stamp"
fi
