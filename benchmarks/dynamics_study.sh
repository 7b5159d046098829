#!/usr/bin/env bash
# V-D4RL's changed-dynamics study (section 5.2, Table 3) at CPU scale: data from the body variants
# B, C, F, G in equal parts (25 episodes each), 3 seeds, each run evaluated on every variant A-H:
# training bodies B, C, F, G, interpolation D, E, extrapolation A, H (and the original body, the
# run's own evaluation task).
#   default: cheetah-run random data (50K transitions), Offline DV2 (V-D4RL's model-based baseline
#   on random data) and LOMPO;
#   TASK=walker-walk RECIPE=medium ALGOS=bc: walker-walk data of each body's own medium SAC policy
#   (trained SAC_FRAMES=200000 frames per body), BC (V-D4RL Table 3's BC rows).
# WORKERS=2 runs two at a time. Rerunning continues every step; then: lompo results OUT; lompo report OUT.
#   bash benchmarks/dynamics_study.sh [DATA_ROOT=data/variants] [OUT=runs/dynamics-study]
set -euo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -euo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
data=${1:-data/variants}
out=${2:-runs/dynamics-study}
lompo=${LOMPO:-.venv/bin/lompo}
task=${TASK:-cheetah-run}
recipe=${RECIPE:-random}
declare -A parameter=([cheetah-run]=torso [walker-walk]=legs)  # lompo.envs.variants.PARAMETERS
declare -A scale=([B]=0.7 [C]=0.8 [F]=1.2 [G]=1.3)               # lompo.envs.variants.SETTINGS
agent=()
[ "$recipe" = random ] || agent=(--sac-frames "${SAC_FRAMES:-200000}" --threads 1)
folders=()
for letter in B C F G; do
  "$lompo" collect --task "$task@$letter" --recipe "$recipe" --episodes 25 --render fast --out "$data" \
    "${agent[@]}" --no-progress
  folders+=("$data/${task//-/_}-${parameter[$task]}${scale[$letter]}/$recipe/64px")
done
mixed="$data/derived/${task//-/_}/$recipe-BCFG/64px"  # a sweep names it by its folder
[ -d "$mixed" ] || "$lompo" merge "${folders[@]}" --task "$task" --out "$mixed"
tasks=$(printf "$task@%s," A B C D E F G H); tasks=${tasks%,}
"$lompo" bench --algos "${ALGOS:-offline_dv2,lompo}" --data "$mixed" --seeds 0,1,2 --preset cpu \
  --workers "${WORKERS:-1}" --set threads=1 --eval-tasks "$tasks" --out "$out"
