#!/usr/bin/env bash
# Does LOMPO's door-open failure on medium_expert come from the world model's budget? The same LOMPO run
# (cpu preset, 64 px, 20K transitions) with MODEL_STEPS world-model steps (default 6000, 4x the preset's
# 1,500), seeds as SEEDS (default 0). Compare its evaluations, belief and policy-in-reality pixel error
# with the preset's runs (`lompo diagnose RUN`). Needs the dataset of benchmarks/door_open_cpu.sh.
# Rerunning continues.
#   [SEEDS="0 1 2"] [MODEL_STEPS=6000] bash benchmarks/door_open_model_steps.sh [DATA_ROOT=data/lompo] [OUT=runs/door-open-model-steps]
set -uo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -uo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
data=${1:-data/lompo}
out=${2:-runs/door-open-model-steps}
steps=${MODEL_STEPS:-6000}
folder="$data/metaworld_door-open-v3/medium_expert/64px"
[ -f "$folder/dataset.json" ] || { echo "no dataset at $folder: run benchmarks/door_open_cpu.sh first" >&2; exit 1; }
bash benchmarks/train_and_diagnose.sh "$folder" "$out/lompo-steps$steps" "${SEEDS:-0}" --set model_steps="$steps"
