#!/usr/bin/env bash
# The GPU check, in at most 10 minutes on one GPU, for whoever has one to lend: paper-preset
# throughput of LOMPO, Offline DV2 and DrQ+BC/CQL/BC on the GPU, then a 5-minute LOMPO learning check
# (cartpole-swingup random data, the cpu preset's networks at the paper's batch, on the GPU). Installs
# nothing: the machine needs this repository's dependencies importable (see BENCHMARKS.md, "GPU").
# Writes one log per part and gpu_check.json (all of them) into OUT.
# PARTS chooses the parts (default: collect lompo offline_dv2 drq learning). Not in the default, for a
# second time on a GPU (about 5 minutes): PARTS="collect filter", LOMPO's paper-preset world-model step
# eager and with its per-time-step filter compiled (torch.compile default and reduce-overhead, i.e.
# CUDA graphs), the candidates for the loop that holds the step on a GPU (BENCHMARKS.md, "GPU").
#   bash benchmarks/gpu_check.sh [OUT=${OUT:-runs/gpu-check}]
set -uo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,/^set -uo/p' "$0" | grep '^#' | cut -c3-; exit 0; fi
cd "$(dirname "$0")/.."
out=${1:-${OUT:-runs/gpu-check}}
mkdir -p "$out"
python=${PYTHON:-python3}
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 MUJOCO_GL=${MUJOCO_GL:-egl}
data=${DATA:-$out/data}
device=${DEVICE:-cuda}  # DEVICE=cpu: a dry run of the script on a machine without a GPU
parts=" ${PARTS:-collect lompo offline_dv2 drq learning} "
part() {  # name, seconds, command...: run with a time limit, keep its output (only the parts in PARTS)
  local name=$1 limit=$2; shift 2
  [[ $parts == *" $name "* ]] || return 0
  echo "== $name (at most ${limit}s)"
  timeout "$limit" "$@" > "$out/$name.log" 2>&1; echo "exit $?" >> "$out/$name.log"
  tail -n 25 "$out/$name.log"
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.txt" 2>&1
$python - > "$out/versions.json" <<'PY'
import json, torch
print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda, "device": torch.cuda.get_device_name(0)}))
PY
[ -d "$data/cartpole_swingup/random/84px" ] || part collect 90 $python -m lompo.cli collect --task cartpole-swingup \
  --recipe random --episodes 40 --image-size 64,84 --render fast --out "$data" --no-progress
part lompo 80 $python benchmarks/bench_lompo.py --presets paper --device "$device" --repeats 3 --data "$data"
part offline_dv2 80 $python benchmarks/bench_offline_dv2.py --presets paper --device "$device" --repeats 3 --data "$data"
part drq 60 $python benchmarks/bench_drq.py --data "$data/cartpole_swingup/random/84px" --device "$device" --seconds 10
for mode in eager default reduce-overhead; do
  flag=(); [ "$mode" = eager ] || flag=(--compile-filter "$mode")
  part filter 150 $python benchmarks/bench_lompo.py --presets paper --device "$device" --repeats 3 --data "$data" \
    --channels-last "${flag[@]}"
  mv "$out/filter.log" "$out/filter-$mode.log" 2>/dev/null
done
[[ $parts == *" learning "* ]] && rm -rf "$out/lompo-learning"  # a fresh run each time: an earlier try's is refused
part learning 270 $python -m lompo.cli train --algo lompo --data "$data/cartpole_swingup/random/64px" --preset cpu \
  --set device="$device" --set batch_size=64 --set sequence_length=50 --set model_steps=2000 --set agent_steps=10000 \
  --set eval_every=0 --out "$out/lompo-learning" --no-progress
$python - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
report = {"gpu": (out / "gpu.txt").read_text().strip(), **json.loads((out / "versions.json").read_text() or "{}")}
for name in ("collect", "lompo", "offline_dv2", "drq", "filter-eager", "filter-default", "filter-reduce-overhead", "learning"):
    log = out / f"{name}.log"
    report[name] = log.read_text()[-3000:] if log.exists() else None
final = out / "lompo-learning" / "final.json"
report["learning_final"] = json.loads(final.read_text()) if final.exists() else None
(out / "gpu_check.json").write_text(json.dumps(report, indent=2))
print("wrote", out / "gpu_check.json")
PY
