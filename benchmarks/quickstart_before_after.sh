#!/usr/bin/env bash
# The README quickstart's wall clock at two commits on one host: each commit is cloned from this
# repository into OUT/COMMIT, set up from scratch (`bash scripts/quickstart.sh` creates its own .venv)
# and run; ROUNDS rounds (default 1) alternate the commits, AFTER first. Prints the float32 matmul
# peak measured before each run, `lompo quickstart`'s total and its phases (from the run's
# metrics.jsonl), the whole command's wall clock, set-up included, and the scores the run printed.
# Run it with nothing else on the cores: the figures are only comparable within one call.
#   bash benchmarks/quickstart_before_after.sh OUT BEFORE [AFTER=HEAD] [ROUNDS=1]
set -euo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ] || [ $# -lt 2 ]; then sed -n '2,/^set -euo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
repo=$(pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
before=$(git rev-parse --short "$2")
after=$(git rev-parse --short "${3:-HEAD}")
rounds=${4:-1}
python=${PYTHON:-.venv/bin/python}
peak() { (cd benchmarks && "$repo/$python" -c 'from common import matmul_peak_gflops as p; import torch; torch.set_num_threads(2); print(f"{p():.0f}")'); }
for round in $(seq 1 "$rounds"); do
  for commit in "$after" "$before"; do
    clone="$out/$commit"
    [ -d "$clone" ] || git clone -q "$repo" "$clone"
    git -C "$clone" checkout -q "$commit"
    rm -rf "$clone/runs/quickstart"
    gflops=$(peak)
    SECONDS=0
    (cd "$clone" && bash scripts/quickstart.sh) > "$out/$commit-round$round.log" 2>&1
    seconds=$SECONDS
    phases=$("$repo/$python" - "$clone/runs/quickstart/lompo-cpu-s0/metrics.jsonl" <<'EOF'
import json, sys
ends = {}
for line in open(sys.argv[1]):
    record = json.loads(line)
    ends[record["phase"]] = record["wall_time"]
print(", ".join(f"{phase} ends at {seconds:.0f} s" for phase, seconds in ends.items()))
EOF
)
    total=$(grep -o 'total [0-9]* s' "$out/$commit-round$round.log")
    scores=$(grep -E '^\| LOMPO|^world model: reward R²' "$out/$commit-round$round.log" | tr '\n' ' ')
    printf 'round %s, commit %s: matmul peak %s GFLOP/s; lompo quickstart %s (%s); script %s s; %s\n' \
      "$round" "$commit" "$gflops" "$total" "$phases" "$seconds" "$scores" | tee -a "$out/summary.txt"
  done
done
