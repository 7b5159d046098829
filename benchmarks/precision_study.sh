#!/usr/bin/env bash
# bf16 against fp32 in learning, at CPU scale: cartpole-swingup medium_replay (64 px), cpu preset, one
# thread per run; LOMPO with its ablations LMBRL and Offline SLAC (they train on each LOMPO world model)
# and DrQ+BC, each once with precision=fp32 and once with precision=bf16 (the conv networks in bfloat16,
# lompo.nets.precision), same seeds, data and batches. Seeds: SEEDS (LOMPO, default 0,1,2,3,4) and
# DRQ_SEEDS (default 0). The fp32 LOMPO runs are those of benchmarks/quality_lompo_cartpole.sh's
# medium_replay sweep (the same command): copy its seed folders into OUT/lompo-fp32 to skip them.
# WORKERS=2 runs two at a time. Rerunning continues; then the comparison is printed
# (benchmarks/precision_study.py).
#   bash benchmarks/precision_study.sh [DATA_ROOT=data/vd4rl] [OUT=runs/precision-study]
set -euo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -euo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
data=${1:-data/vd4rl}
out=${2:-runs/precision-study}
lompo=${LOMPO:-.venv/bin/lompo}
python=${PYTHON:-.venv/bin/python}
dataset="$data/cartpole_swingup/medium_replay/64px"
[ -d "$dataset" ] || "$lompo" collect --task cartpole-swingup --recipe medium_replay --image-size 64 --render fast --out "$data"
for precision in fp32 bf16; do
  "$lompo" bench --algos lompo,lmbrl,offline_slac --data "$dataset" --seeds "${SEEDS:-0,1,2,3,4}" --preset cpu \
    --workers "${WORKERS:-1}" --set threads=1 --set precision=$precision --set lompo:eval_every=2500 \
    --set lmbrl:eval_every=2500 --set offline_slac:eval_every=2500 --out "$out/lompo-$precision"
  "$lompo" bench --algos drqbc --data "$dataset" --seeds "${DRQ_SEEDS:-0}" --preset cpu --workers "${WORKERS:-1}" \
    --set threads=1 --set precision=$precision --set eval_every=2500 --out "$out/drqbc-$precision"
done
"$python" benchmarks/precision_study.py --fp32 "$out/lompo-fp32" "$out/drqbc-fp32" \
  --bf16 "$out/lompo-bf16" "$out/drqbc-bf16" --json "$out/precision_study.json"
