#!/usr/bin/env bash
# V-D4RL's distraction study (section 5.1, Figure 3) at CPU scale: cartpole-swingup medium_replay,
# half of its episodes as they are and the other half re-rendered with colour:medium (4 train
# distractions), Offline DV2 and BC,
# 3 seeds, each run evaluated undistracted and under the train and the unseen test distractions.
# Rerunning continues every step; then: lompo results OUT; lompo report OUT.
#   bash benchmarks/distraction_study.sh [DATA_ROOT=data/vd4rl] [OUT=runs/distraction-study]
# (DISTRACTION=all:medium, V-D4RL's kind, or camera:medium ... studies another; ALGOS=lompo,bc other
# algorithms, with another OUT; WORKERS=2 runs two at a time.)
set -euo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -euo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
data=${1:-data/vd4rl}
out=${2:-runs/distraction-study}
lompo=${LOMPO:-.venv/bin/lompo}
distraction=${DISTRACTION:-colour:medium}
name=${distraction//:/-}
source="$data/cartpole_swingup/medium_replay/64px"
derived="$data/derived/cartpole_swingup"
[ -d "$derived/mr-$name/64px" ] || "$lompo" collect --from "$source" --distraction "$distraction" \
  --distraction-count 4 --out "$derived/mr-$name/64px" --no-progress
[ -d "$derived/mr-half-a/64px" ] || "$lompo" subsample "$source" --fraction 0.5 --seed 0 --out "$derived/mr-half-a/64px"
[ -d "$derived/mr-$name-half-b/64px" ] || "$lompo" subsample "$derived/mr-$name/64px" --fraction 0.5 --seed 0 \
  --complement --out "$derived/mr-$name-half-b/64px"
[ -d "$derived/mr-mixed-$name/64px" ] || "$lompo" merge "$derived/mr-half-a/64px" "$derived/mr-$name-half-b/64px" \
  --out "$derived/mr-mixed-$name/64px"
"$lompo" bench --algos "${ALGOS:-offline_dv2,bc}" --data "$derived/mr-mixed-$name/64px" --seeds 0,1,2 --preset cpu \
  --workers "${WORKERS:-1}" --set threads=1 --eval-distractions "$distraction" --eval-distraction-count 4 --out "$out"
