#!/usr/bin/env bash
# One LOMPO run per seed on DATA (cpu preset, one thread, evaluations every 2,500 updates, extra
# --set flags as given), resumed when it exists, then `lompo diagnose` on it; the runs are PREFIX-sSEED.
# Rerunning continues. Used by the door-open probes.
#   bash benchmarks/train_and_diagnose.sh DATA PREFIX "SEEDS" [--set KEY=VALUE ...]
set -uo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -uo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
data=$1; prefix=$2; seeds=$3; shift 3
lompo=${LOMPO:-.venv/bin/lompo}
for seed in $seeds; do
  run="$prefix-s$seed"
  [ -f "$run/final.json" ] && continue
  if [ -f "$run/config.json" ]; then
    "$lompo" train --resume "$run" --no-progress
  else
    "$lompo" train --algo lompo --data "$data" --seed "$seed" --preset cpu --set threads=1 --set eval_every=2500 \
      "$@" --out "$run" --no-progress
  fi
  "$lompo" diagnose "$run" --horizon 15 --sequences 32 --policy-episodes 2
done
