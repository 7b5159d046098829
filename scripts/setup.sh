#!/usr/bin/env bash
# Create or reuse .venv at the repository root and install lompo with its test extras, at the exact
# versions of requirements.lock.
#
# PyTorch comes first, as the build for this machine:
#   LOMPO_TORCH=cpu    the CPU-only build (no NVIDIA GPU; a few hundred MB)
#   LOMPO_TORCH=cuda   PyPI's default Linux build with CUDA (an NVIDIA GPU and driver; several GB)
#   LOMPO_TORCH=auto   (default) cuda when `nvidia-smi -L` lists a GPU, else cpu
# The CPU build is taken from pip's configured sources when they hold it (--no-index), else from
# PyTorch's CPU index (download.pytorch.org/whl/cpu). Change the choice later with: rm .venv/.lompo-installed; LOMPO_TORCH=... bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
torch_version=$(sed -n 's/^torch==//p' requirements.lock)

# Headless rendering needs Mesa's EGL or OSMesa; install OSMesa when neither is present.
if ! ldconfig -p 2>/dev/null | grep -q -E "libEGL\.so|libOSMesa\.so"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq libosmesa6 libgl1-mesa-dri >/dev/null
  else
    echo "warning: no libEGL or libOSMesa found; install libosmesa6 for headless rendering" >&2
  fi
fi

variant=${LOMPO_TORCH:-auto}
if [ "$variant" = auto ]; then
  if command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q GPU; then variant=cuda; else variant=cpu; fi
fi
case "$variant" in cpu|cuda) ;; *) echo "LOMPO_TORCH must be cpu, cuda or auto, got '$variant'" >&2; exit 2 ;; esac

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
pip=(.venv/bin/python -m pip install -q)
quiet() { grep -v "^WARNING: Location" || true; }
stamp=.venv/.lompo-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | quiet
  # torch alone first (its dependencies are pinned in the lock): the CPU build from pip's configured
  # local sources if they hold it, else from PyTorch's CPU index; the CUDA build from PyPI.
  if [ "$variant" = cpu ]; then
    "${pip[@]}" --no-deps --no-index "torch==$torch_version" 2>/dev/null \
      || "${pip[@]}" --no-deps "torch==$torch_version" --index-url https://download.pytorch.org/whl/cpu 2>&1 | quiet
  else
    "${pip[@]}" "torch==$torch_version" 2>&1 | quiet
  fi
  "${pip[@]}" -r requirements.lock 2>&1 | quiet
  "${pip[@]}" --no-deps -e . 2>&1 | quiet
  .venv/bin/python -c "import torch, dm_control, lompo; print(f'torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}')" \
    && echo "$variant" > "$stamp"
fi
