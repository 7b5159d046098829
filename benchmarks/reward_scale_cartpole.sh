#!/usr/bin/env bash
# LOMPO with a weighted reward likelihood (`reward_scale`), with the standard model or with the reward
# read from the frame (FRAME=true: `reward_from_frame`), cartpole-swingup at 64 px, cpu preset
# otherwise: one `lompo bench` sweep per recipe (ALGOS: lompo first, then the ablations on its world
# model), two sweeps side by side (one per recipe), one torch thread each. Rerunning continues every
# sweep. Then: lompo results OUT/<recipe>; compare with benchmarks/quality_lompo_cartpole.sh's sweep.
#   bash benchmarks/reward_scale_cartpole.sh [DATA_ROOT=data/vd4rl] [OUT=runs/reward-scale]
#   RECIPES="medium_replay random" SEEDS=0,1,2 ALGOS=lompo,lmbrl,offline_slac SCALE=30 FRAME=false
set -uo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -uo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
data=${1:-data/vd4rl}
out=${2:-runs/reward-scale}
lompo=${LOMPO:-.venv/bin/lompo}
for recipe in ${RECIPES:-medium_replay random}; do
  "$lompo" bench --algos "${ALGOS:-lompo,lmbrl,offline_slac}" --data "$data/cartpole_swingup/$recipe/64px" \
    --seeds "${SEEDS:-0,1,2}" --preset cpu --workers 1 --set threads=1 --set eval_every=2500 \
    --set reward_scale="${SCALE:-30}" --set reward_from_frame="${FRAME:-false}" --out "$out/$recipe" &
done
wait
