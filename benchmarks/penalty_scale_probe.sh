#!/usr/bin/env bash
# LOMPO's penalty scale on the world models of a finished quality sweep: the agent phase alone
# (`--world-model` of each seed's lompo run), cpu preset, for each lambda in LAMBDAS, one run at a
# time with one torch thread. Rerunning continues: finished runs are skipped, unfinished resumed.
#   bash benchmarks/penalty_scale_probe.sh [SWEEP=runs/quality-lompo] [OUT=runs/penalty-probe]
#   LAMBDAS="1 0.2" RECIPES="random medium_replay" SEEDS="0 1 2"
#   SETS="agent_steps=30000 penalty=max_std" (more settings for every run) TAG=name (appended to run names)
#   DATASETS="cartpole_swingup-random-x5-64px ..." takes the models of a plain `lompo bench` sweep
#   (SWEEP/DATASET/lompo/seedS, e.g. benchmarks/size_study.sh's) instead of the quality sweep's layout
# Then: lompo results OUT
set -uo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -uo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
sweep=${1:-runs/quality-lompo}
out=${2:-runs/penalty-probe}
lompo=${LOMPO:-.venv/bin/lompo}
for recipe in ${DATASETS:-${RECIPES:-random medium_replay}}; do
  for seed in ${SEEDS:-0 1 2}; do
    model="$sweep/$recipe-model_based/cartpole_swingup-$recipe-64px/lompo/seed$seed"
    [ -z "${DATASETS:-}" ] || model="$sweep/$recipe/lompo/seed$seed"
    [ -f "$model/final.json" ] || { echo "skip $recipe seed $seed: $model has not finished"; continue; }
    data=$(python3 -c "import json,sys; print(json.load(open('$model/config.json'))['run']['data'])")
    for lam in ${LAMBDAS:-1 0.2}; do
      run="$out/$recipe-lambda$lam${TAG:+-$TAG}-s$seed"
      if [ -f "$run/final.json" ]; then continue; fi
      if [ -f "$run/config.json" ]; then
        "$lompo" train --resume "$run" --no-progress
      else
        extra=()
        for setting in ${SETS:-}; do extra+=(--set "$setting"); done
        "$lompo" train --algo lompo --data "$data" --seed "$seed" --preset cpu --world-model "$model" \
          --set penalty_scale="$lam" --set threads=1 --set eval_every=2500 "${extra[@]}" --out "$run" --no-progress
      fi
    done
  done
done
