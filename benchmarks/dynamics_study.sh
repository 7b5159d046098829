#!/usr/bin/env bash
# V-D4RL's changed-dynamics study (section 5.2, Table 3) at CPU scale: cheetah-run random data from the
# body variants B, C, F, G in equal parts (25 episodes each, 50K transitions), Offline DV2 (V-D4RL's
# model-based baseline on random data) and LOMPO, 3 seeds, each run evaluated on every variant A-H:
# training bodies B, C, F, G, interpolation D, E,
# extrapolation A, H (and the original body, the run's own evaluation task).
# WORKERS=2 runs two at a time. Rerunning continues every step; then: lompo results OUT; lompo report OUT.
#   bash benchmarks/dynamics_study.sh [DATA_ROOT=data/variants] [OUT=runs/dynamics-study]
set -euo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -euo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
data=${1:-data/variants}
out=${2:-runs/dynamics-study}
lompo=${LOMPO:-.venv/bin/lompo}
declare -A scale=([B]=0.7 [C]=0.8 [F]=1.2 [G]=1.3)  # lompo.envs.variants.SETTINGS
folders=()
for letter in B C F G; do
  "$lompo" collect --task "cheetah-run@$letter" --recipe random --episodes 25 --render fast --out "$data" --no-progress
  folders+=("$data/cheetah_run-torso${scale[$letter]}/random/64px")
done
mixed="$data/derived/cheetah_run/multitask-BCFG/64px"  # a sweep names it by its folder
[ -d "$mixed" ] || "$lompo" merge "${folders[@]}" --task cheetah-run --out "$mixed"
tasks=$(printf 'cheetah-run@%s,' A B C D E F G H); tasks=${tasks%,}
"$lompo" bench --algos offline_dv2,lompo --data "$mixed" --seeds 0,1,2 --preset cpu --workers "${WORKERS:-1}" --set threads=1 \
  --eval-tasks "$tasks" --out "$out"
