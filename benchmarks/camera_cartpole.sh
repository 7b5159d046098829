#!/usr/bin/env bash
# LOMPO on cartpole-swingup medium_replay seen from the camera that follows the cart (camera 1,
# `lookatcart`) instead of DMC's standard camera 0, which loses the cart at the ends of the rail: the
# dataset is the standard one re-rendered into data/cameraN/ (same actions, rewards and states); the cpu preset, one
# torch thread per run, one run at a time. Rerunning continues (finished runs are skipped).
#   bash benchmarks/camera_cartpole.sh [DATA_ROOT=data/vd4rl] [OUT=runs/lookatcart]
#   SEEDS="0 1 2" ALGOS="lompo lmbrl" CAMERA=1 (lmbrl and offline_slac start from the lompo run's world model)
# Then: lompo results OUT; python benchmarks/cartpole_out_of_view.py only applies to camera 0.
set -uo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -uo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
root=${1:-data/vd4rl}
out=${2:-runs/lookatcart}
camera=${CAMERA:-1}
lompo=${LOMPO:-.venv/bin/lompo}
source="$root/cartpole_swingup/medium_replay/64px"
data="data/camera$camera/cartpole_swingup/medium_replay/64px"
if [ ! -f "$data/dataset.json" ]; then
  "$lompo" collect --from "$source" --camera "$camera" --out "$data" --no-progress || exit 1
fi
for seed in ${SEEDS:-0 1 2}; do
  for algo in ${ALGOS:-lompo}; do
    run="$out/$algo-s$seed"
    if [ -f "$run/final.json" ]; then continue; fi
    if [ -f "$run/config.json" ]; then
      "$lompo" train --resume "$run" --no-progress
    else
      reuse=()  # the ablations start from the lompo run's world model, as in lompo bench
      if [ "$algo" != lompo ] && [ -f "$out/lompo-s$seed/final.json" ]; then reuse=(--world-model "$out/lompo-s$seed"); fi
      "$lompo" train --algo "$algo" --data "$data" --preset cpu --seed "$seed" --set threads=1 \
        --set eval_every=2500 "${reuse[@]}" --out "$run" --no-progress
    fi
  done
done
