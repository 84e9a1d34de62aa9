#!/usr/bin/env bash
# The training monitor's cost (Documentation~/Monitoring.md): `neuro bench --monitor-every K` alternates rounds of training
# steps without and with a monitor sampling every K steps and compares the total times. LeNet-5 and ResNet-20 (resnet_cifar),
# CPU and GL backends, the default interval (50) and every step. The machine is noisy: compare within a row.
#   bash Tests/Benchmarks/monitor.sh [lenet-steps] [resnet-steps] [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
lenet_steps=${1:-100}; resnet_steps=${2:-50}; rounds=${3:-5}
dotnet build Editor -c Release -nologo -clp:ErrorsOnly -p:NeuroSkipWebBuild=true >/dev/null
neuro="dotnet Editor/bin/Release/net10.0/neuro.dll"
results=$(mktemp)
for backend in cpu gl; do
  for every in 50 1; do
    $neuro bench --model lenet5 --backend "$backend" --batch 64 --steps "$lenet_steps" --monitor-every "$every" --rounds "$rounds" --json | tr -d '\n' >> "$results"; echo >> "$results"
    $neuro bench --model resnet_cifar --backend "$backend" --batch 32 --steps "$resnet_steps" --monitor-every "$every" --rounds "$rounds" --json | tr -d '\n' >> "$results"; echo >> "$results"
  done
done
/usr/bin/python3 - "$results" <<'PY'
import json, sys
print("| model | backend | batch | monitor every | images/s without | images/s with | slow-down | samples |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for line in open(sys.argv[1]):
    if not line.strip(): continue
    r = json.loads(line); m = r["monitor"]
    print(f"| {r['model']} | {r['backend']} | {r['batch']} | {m['every']} | {m['unmonitoredImagesPerSecond']:,.1f} | "
          f"{m['monitoredImagesPerSecond']:,.1f} | {m['slowdownPercent']:+.1f} % | {m['samples']} |")
PY
