#!/usr/bin/env bash
# The LOMPO paper's adroit-pen medium_replay at CPU scale: a state SAC behaviour agent on the pen with
# its fixed goal (SAC_FRAMES simulator frames, default 400K = 100K agent steps at action repeat 4), the
# replay buffer up to its medium checkpoint (half-way from random actions to the agent's best) as a
# 20K-transition dataset at 64 px with proprioception (the paper: 1M transitions at 128 px), then LOMPO
# and BC, 3 seeds each, cpu preset, two runs side by side with one torch thread each. Evaluations report
# the success rate beside the return and the normalized return (the unit of LOMPO Table 1). Rerunning continues every step;
# then: lompo results OUT; lompo report OUT.
#   [WORKERS=2] bash benchmarks/pen_mr_cpu.sh [DATA_ROOT=data/lompo] [OUT=runs/pen-mr]    (SAC_FRAMES=400000)
set -uo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -uo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
data=${1:-data/lompo}
out=${2:-runs/pen-mr}
lompo=${LOMPO:-.venv/bin/lompo}
folder="$data/adroit_AdroitHandPen-v1/medium_replay/64px"
[ -f "$folder/dataset.json" ] || { /usr/bin/time -f "medium_replay collection: %e s" "$lompo" collect --task adroit-pen \
  --protocol lompo --recipe medium_replay --size 20000 --image-size 64 --render fast --sac-frames "${SAC_FRAMES:-400000}" \
  --threads 1 --out "$data" --no-progress || exit 1; }
"$lompo" bench --algos lompo,bc --data "$folder" --seeds 0,1,2 --preset cpu --workers "${WORKERS:-2}" --set threads=1 \
  --set lompo:eval_every=2500 --set bc:eval_every=2500 --out "$out"
