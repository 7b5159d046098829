#!/usr/bin/env bash
# One V-D4RL task at CPU scale: walker-walk medium_replay at 64 px (built with lompo collect: the
# behaviour agent's replay up to its medium checkpoint), LOMPO with its ablation LMBRL (on LOMPO's
# world model) and BC, 3 seeds, cpu preset with 3K world-model steps (twice the preset's
# 1,500, which were fitted to cartpole; walker's body has more to model) and 20K agent
# updates) — about two hours of 2 cores: one sweep, two runs side by side with one torch thread each
# (LMBRL waits for the LOMPO run of its seed). Rerunning continues every step; then: lompo results OUT;
# lompo report OUT.
#   bash benchmarks/walker_mr.sh [DATA_ROOT=data/vd4rl] [OUT=runs/walker-mr]
set -uo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -uo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
data=${1:-data/vd4rl}
out=${2:-runs/walker-mr}
lompo=${LOMPO:-.venv/bin/lompo}
folder="$data/walker_walk/medium_replay/64px"
[ -f "$folder/dataset.json" ] || "$lompo" collect --task walker-walk --recipe medium_replay --image-size 64 \
  --render fast --sac-frames 150000 --threads 1 --out "$data" --no-progress || exit 1
"$lompo" bench --algos lompo,lmbrl,bc --data "$folder" --seeds 0,1,2 --preset cpu --workers 2 \
  --set threads=1 --set agent_steps=20000 --set lompo:model_steps=3000 --set lmbrl:model_steps=3000 \
  --set lompo:eval_every=5000 --set lmbrl:eval_every=5000 --set bc:eval_every=5000 --out "$out"
