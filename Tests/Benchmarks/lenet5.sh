#!/usr/bin/env bash
# Side-by-side benchmark of LeNet-5 in one run: neuro's CPU and GL backends and PyTorch (the peer), same
# batch and step count, printed as a table with ratios to PyTorch. Needs python3-torch for the peer
# (apt-get install python3-torch); the machine is noisy, so compare the ratios, not the absolute figures.
#   bash Tests/Benchmarks/lenet5.sh [batch] [steps]
set -euo pipefail
cd "$(dirname "$0")/../.."
batch=${1:-64}; steps=${2:-200}
dotnet build Editor -c Release -nologo -clp:ErrorsOnly >/dev/null
neuro="dotnet Editor/bin/Release/net10.0/neuro.dll"
results=$(mktemp)
$neuro bench --model lenet5 --backend cpu --batch "$batch" --steps "$steps" --json | tr -d '\n' >> "$results"; echo >> "$results"
$neuro bench --model lenet5 --backend gl --batch "$batch" --steps "$steps" --json | tr -d '\n' >> "$results"; echo >> "$results"
/usr/bin/python3 Tests/Benchmarks/pytorch_lenet5.py "$batch" "$steps" >> "$results"
/usr/bin/python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
peer = next(r for r in rows if r["backend"] == "pytorch-cpu")
print(f"| backend | device | training images/s (batch {peer['batch']}) | speed vs PyTorch | inference µs/image (batch 1) | speed vs PyTorch |")
print("| --- | --- | --- | --- | --- | --- |")
for r in rows:
    print(f"| {r['backend']} | {r['device']} | {r['trainImagesPerSecond']:,.0f} | {r['trainImagesPerSecond'] / peer['trainImagesPerSecond']:.2f}× "
          f"| {r['inferenceMicrosecondsPerImage']:,.1f} | {peer['inferenceMicrosecondsPerImage'] / r['inferenceMicrosecondsPerImage']:.2f}× |")
PY
