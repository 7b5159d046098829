#!/usr/bin/env bash
# Does LOMPO's door-open failure on medium_expert come from the data's coverage? The same LOMPO run on
# door-open medium_replay (the scripted policy with noise falling from 3.0, where it earns 13 of 125, to
# the medium level: more of the hand's moves with the door still closed), 20K transitions at 64 px,
# cpu preset, seeds as SEEDS (default 0). Compare its policy-in-reality pixel error and belief with
# medium_expert's (`lompo diagnose RUN`). Rerunning continues.
#   [SEEDS="0 1 2"] bash benchmarks/door_open_coverage.sh [DATA_ROOT=data/lompo] [OUT=runs/door-open-coverage]
set -uo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -uo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
data=${1:-data/lompo}
out=${2:-runs/door-open-coverage}
lompo=${LOMPO:-.venv/bin/lompo}
folder="$data/metaworld_door-open-v3/medium_replay/64px"
[ -f "$folder/dataset.json" ] || { /usr/bin/time -f "medium_replay collection: %e s" "$lompo" collect --task door-open \
  --protocol lompo --recipe medium_replay --scripted --size 20000 --render fast --threads 1 --out "$data" --no-progress \
  || exit 1; }
bash benchmarks/train_and_diagnose.sh "$folder" "$out/lompo" "${SEEDS:-0}"
