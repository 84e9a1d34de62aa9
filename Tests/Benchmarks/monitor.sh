#!/usr/bin/env bash
# The training monitor's cost (Documentation~/Monitoring.md), LeNet-5 and ResNet-20 (resnet_cifar) on the CPU and GL
# backends, with `neuro bench --monitor-every 1`: the fastest step without and with a sample gives one sample's cost, so
# the slow-down at every step and at the default interval (50; steps between samples cost nothing extra); the alternated
# rounds give the direct figure at every step. Both are also measured directly at the default interval (ResNet-20 in two
# rounds of 50 steps: about 6 minutes on llvmpipe). The last column
# is the cost of the steps between samples: managed bytes allocated, and kernel dispatches beyond a step without a monitor.
#   bash Tests/Benchmarks/monitor.sh [lenet-rounds] [resnet-rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
lenet_rounds=${1:-5}; resnet_rounds=${2:-3}
dotnet build Editor -c Release -nologo -clp:ErrorsOnly -p:NeuroSkipWebBuild=true >/dev/null
neuro="dotnet Editor/bin/Release/net10.0/neuro.dll"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for backend in cpu gl; do
  $neuro bench --model lenet5 --backend "$backend" --batch 64 --steps 10 --monitor-every 1 --rounds "$lenet_rounds" --json | tr -d '\n' >> "$results"; echo >> "$results"
  $neuro bench --model lenet5 --backend "$backend" --batch 64 --steps 50 --monitor-every 50 --rounds "$lenet_rounds" --json | tr -d '\n' >> "$results"; echo >> "$results"
  $neuro bench --model resnet_cifar --backend "$backend" --batch 32 --steps 2 --monitor-every 1 --rounds "$resnet_rounds" --json | tr -d '\n' >> "$results"; echo >> "$results"
  $neuro bench --model resnet_cifar --backend "$backend" --batch 32 --steps 50 --monitor-every 50 --rounds 2 --json | tr -d '\n' >> "$results"; echo >> "$results"
done
/usr/bin/python3 - "$results" <<'PY'
import json, sys
print("| model | backend | batch | step | step with a sample | every step | every 50 (from the sample's cost) | alternated rounds (measured) | steps between samples: bytes, extra dispatches |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for line in open(sys.argv[1]):
    if not line.strip(): continue
    r = json.loads(line); m = r["monitor"]
    per_step = 100 * (m["sampledStepMilliseconds"] - m["stepMilliseconds"]) / m["stepMilliseconds"]
    print(f"| {r['model']} | {r['backend']} | {r['batch']} | {m['stepMilliseconds']:,.1f} ms | {m['sampledStepMilliseconds']:,.1f} ms | "
          f"{per_step:+.1f} % | {per_step / 50:+.2f} % | every {m['every']}: {m['roundsSlowdownPercent']:+.1f} % | "
          f"{m['bytesBetweenSamples']} B, {m['extraDispatchesBetweenSamples']} in {m['stepsBetweenSamples']} steps |")
PY
