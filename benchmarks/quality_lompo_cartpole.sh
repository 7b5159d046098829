#!/usr/bin/env bash
# LOMPO quality on cartpole-swingup random and medium_replay (64 px, cpu preset), 5 seeds:
# lompo with its ablations lmbrl and offline_slac (agent phase on the lompo run's world model), then bc.
# Two queues side by side, one per dataset, one run at a time each with one torch thread (2 cores);
# each queue is two `lompo bench` sweeps (model-based first, then bc). Rerunning this script
# continues every sweep, skipping finished runs. Then: lompo results OUT; lompo report OUT.
#   bash benchmarks/quality_lompo_cartpole.sh [DATA_ROOT=data/vd4rl] [OUT=runs/quality-lompo]
# (RECIPES="random" runs one queue only.)
# Data: lompo collect --task cartpole-swingup --recipe random --render fast --out DATA_ROOT
#       lompo collect --task cartpole-swingup --recipe medium_replay --render fast --out DATA_ROOT
set -uo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -uo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
data=${1:-data/vd4rl}
out=${2:-runs/quality-lompo}
lompo=${LOMPO:-.venv/bin/lompo}
common=(--seeds 0,1,2,3,4 --preset cpu --workers 1 --set threads=1)
for recipe in ${RECIPES:-random medium_replay}; do
  folder="$data/cartpole_swingup/$recipe/64px"
  (
    "$lompo" bench --algos lompo,lmbrl,offline_slac --data "$folder" "${common[@]}" \
      --set lompo:eval_every=2500 --set lmbrl:eval_every=2500 --set offline_slac:eval_every=2500 \
      --out "$out/$recipe-model_based"
    "$lompo" bench --algos bc --data "$folder" "${common[@]}" --set bc:eval_every=1250 --out "$out/$recipe-bc"
  ) &
done
wait
