#!/usr/bin/env bash
# The LOMPO paper's door-open at CPU scale: medium_expert and expert datasets of 20K transitions at
# 64 px (160 episodes each; the paper's are 50K at 128 px) from the scripted policy with action noise
# (lompo collect --scripted; state SAC does not reach an expert on 2 cores), then LOMPO and BC, 3
# seeds each, cpu preset, two runs side by side with one torch thread each. Evaluations report the
# success rate beside the return and the normalized return (the unit of LOMPO Table 1). Rerunning continues every step;
# then: lompo results OUT; lompo report OUT.
#   [WORKERS=2] bash benchmarks/door_open_cpu.sh [DATA_ROOT=data/lompo] [OUT=runs/door-open]
set -uo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -uo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
data=${1:-data/lompo}
out=${2:-runs/door-open}
lompo=${LOMPO:-.venv/bin/lompo}
folders=()
for recipe in medium_expert expert; do
  folder="$data/metaworld_door-open-v3/$recipe/64px"
  [ -f "$folder/dataset.json" ] || { /usr/bin/time -f "$recipe collection: %e s" "$lompo" collect --task door-open \
    --protocol lompo --recipe "$recipe" --scripted --size 20000 --render fast --threads 1 --out "$data" --no-progress \
    || exit 1; }
  folders+=("$folder")
done
data_list=$(IFS=,; echo "${folders[*]}")
"$lompo" bench --algos lompo,bc --data "$data_list" --seeds 0,1,2 --preset cpu --workers "${WORKERS:-2}" --set threads=1 \
  --set lompo:eval_every=2500 --set bc:eval_every=2500 --out "$out"
