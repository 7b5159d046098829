#!/bin/sh
# Offline DV2 quality on CPU: cartpole-swingup random and medium_replay, 3 seeds, cpu preset,
# next to LOMPO. Two queues of single-threaded runs, balanced for 2 cores (about 105 minutes):
#   queue 1: offline_dv2 on random (seeds 0-2), then on medium_replay (seed 0)
#   queue 2: lompo on random (seeds 0-2), then offline_dv2 on medium_replay (seeds 1-2)
# LOMPO on medium_replay: benchmarks/quality_lompo_cartpole.sh (the same dataset).
# Data: lompo collect --task cartpole-swingup --recipe random --render fast --out DATA
#       lompo collect --task cartpole-swingup --recipe medium_replay --render fast --out DATA
# Usage (from anywhere): sh benchmarks/quality_offline_dv2.sh [DATA=data/vd4rl] [OUT=runs/quality-offline_dv2];
# then lompo results OUT; lompo report OUT. Rerunning continues every sweep.
set -e
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -e/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
D=${1:-data/vd4rl}/cartpole_swingup
S=${2:-runs/quality-offline_dv2}
B="${LOMPO:-.venv/bin/lompo} bench --preset cpu --workers 1 --set threads=1"
(
  $B --algos offline_dv2 --data $D/random/64px --seeds 0,1,2 --set eval_every=500 --out $S/dv2-random
  $B --algos offline_dv2 --data $D/medium_replay/64px --seeds 0 --set eval_every=500 --out $S/dv2-mr-a
) &
(
  $B --algos lompo --data $D/random/64px --seeds 0,1,2 --set eval_every=2500 --out $S/lompo-random
  $B --algos offline_dv2 --data $D/medium_replay/64px --seeds 1,2 --set eval_every=500 --out $S/dv2-mr-b
) &
wait
${LOMPO:-.venv/bin/lompo} results $S
