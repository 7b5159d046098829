#!/bin/sh
# Offline DV2 quality on CPU: cartpole-swingup random and medium_replay, 3 seeds, cpu preset,
# next to LOMPO. Two queues of single-threaded runs, balanced for 2 cores (about 105 minutes):
#   queue 1: offline_dv2 on random (seeds 0-2), then on medium_replay (seed 0)
#   queue 2: lompo on random (seeds 0-2), then offline_dv2 on medium_replay (seeds 1-2)
# LOMPO on medium_replay is benchmarks/results/lompo-cartpole-medium_replay (the same dataset).
# Data: lompo collect --task cartpole-swingup --recipe random --render fast --out DATA
#       lompo collect --task cartpole-swingup --recipe medium_replay --render fast --out DATA
# Usage: sh benchmarks/quality_offline_dv2.sh DATA OUT; then lompo results OUT; lompo report OUT
set -e
D=${1:-/tmp/exp/vd4rl}/cartpole_swingup
S=${2:-/tmp/sweeps/s5}
B="lompo bench --preset cpu --workers 1 --set threads=1"
(
  $B --algos offline_dv2 --data $D/random/64px --seeds 0,1,2 --set eval_every=500 --out $S/dv2-random
  $B --algos offline_dv2 --data $D/medium_replay/64px --seeds 0 --set eval_every=500 --out $S/dv2-mr-a
) &
(
  $B --algos lompo --data $D/random/64px --seeds 0,1,2 --set eval_every=2500 --out $S/lompo-random
  $B --algos offline_dv2 --data $D/medium_replay/64px --seeds 1,2 --set eval_every=500 --out $S/dv2-mr-b
) &
wait
lompo results $S
