#!/usr/bin/env bash
# LOMPO's dataset-size ablation (LOMPO appendix B) at CPU scale: cartpole-swingup random subsampled
# x5 and x25 (whole episodes, nested: one seed), LOMPO with its ablations LMBRL and Offline SLAC on
# the dataset and both subsamples, 3 seeds, cpu preset (the full-size runs are those of
# benchmarks/quality_lompo_cartpole.sh: copy its seed folders in to skip them).
# WORKERS=2 runs two at a time. Rerunning continues; then: lompo results OUT; lompo report OUT.
#   bash benchmarks/size_study.sh [DATA_ROOT=data/vd4rl] [OUT=runs/size-study]
set -euo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -euo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
data=${1:-data/vd4rl}
out=${2:-runs/size-study}
lompo=${LOMPO:-.venv/bin/lompo}
source="$data/cartpole_swingup/random/64px"
derived="$data/derived/cartpole_swingup"
for pair in x5:0.2 x25:0.04; do
  folder="$derived/random-${pair%%:*}/64px"
  [ -d "$folder" ] || "$lompo" subsample "$source" --fraction "${pair##*:}" --seed 0 --out "$folder"
done
"$lompo" bench --algos lompo,lmbrl,offline_slac --data "$source,$derived/random-x5/64px,$derived/random-x25/64px" \
  --seeds 0,1,2 --preset cpu --workers "${WORKERS:-1}" --set threads=1 --set eval_every=2500 --out "$out"
