#!/usr/bin/env bash
# Side-by-side benchmark of the CPU backend against PyTorch in one run: training images/s and batch-1 inference
# for LeNet-5 and ResNet-20 (`resnet_cifar`), PyTorch with as many threads as the CPU backend uses (every logical
# processor, at most 8). Set NEURO_BEFORE=/path/to/an/older/neuro.dll to add that build's rows (before/after), and
# NEURO_DLL=/path/to/neuro.dll to measure a build made elsewhere instead of building Editor here.
# Needs python3-torch for the peer; the machine is noisy, so compare the ratios, not the absolute figures.
#   bash Tests/Benchmarks/cpu_training.sh [batch] [lenet5 steps] [resnet steps]
set -euo pipefail
cd "$(dirname "$0")/../.."
batch=${1:-64}; lenet_steps=${2:-200}; resnet_steps=${3:-10}
threads=$(( $(nproc) < 8 ? $(nproc) : 8 ))
build=${NEURO_BUILD_DIR:+$NEURO_BUILD_DIR/bin/NeuroPlugin.Editor}
build=${build:-Editor/bin}
if [ -z "${NEURO_DLL:-}" ]; then dotnet build Editor -c Release -nologo -clp:ErrorsOnly >/dev/null; fi
neuro="dotnet ${NEURO_DLL:-$build/Release/net10.0/neuro.dll}"
results=$(mktemp)
row() { # label, then the command printing one JSON object
  local label=$1; shift
  "$@" | tr -d '\n' | /usr/bin/python3 -c "import json,sys; r=json.load(sys.stdin); r['label']='$label'; print(json.dumps(r))" >> "$results"
}
for model in lenet5 resnet_cifar; do
  steps=$([ "$model" = lenet5 ] && echo "$lenet_steps" || echo "$resnet_steps")
  peer=$([ "$model" = lenet5 ] && echo Tests/Benchmarks/pytorch_lenet5.py || echo Tests/Benchmarks/pytorch_resnet20.py)
  if [ -n "${NEURO_BEFORE:-}" ]; then row "$model cpu (before)" dotnet "$NEURO_BEFORE" bench --model "$model" --backend cpu --batch "$batch" --steps "$steps" --json; fi
  row "$model cpu" $neuro bench --model "$model" --backend cpu --batch "$batch" --steps "$steps" --json
  row "$model pytorch" /usr/bin/python3 "$peer" "$batch" "$steps" "$threads"
done
/usr/bin/python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print(f"| run | device | training images/s (batch {rows[0]['batch']}) | speed vs PyTorch | inference µs/image (batch 1) | speed vs PyTorch |")
print("| --- | --- | --- | --- | --- | --- |")
for r in rows:
    peer = next(p for p in rows if p["backend"] == "pytorch-cpu" and p["label"].split()[0] == r["label"].split()[0])
    print(f"| {r['label']} | {r['device']} | {r['trainImagesPerSecond']:,.0f} | {r['trainImagesPerSecond'] / peer['trainImagesPerSecond']:.2f}× "
          f"| {r['inferenceMicrosecondsPerImage']:,.1f} | {peer['inferenceMicrosecondsPerImage'] / r['inferenceMicrosecondsPerImage']:.2f}× |")
PY
