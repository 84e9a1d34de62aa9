#!/usr/bin/env bash
# The training inspector's responsiveness (issue 13): frames per second of the editor's canvas in Chromium while it is
# panned, idle and while ResNet-20 trains with the monitor every 10 steps (InspectorPanningBenchmark, an explicit
# end-to-end benchmark). Prints one line per round.
#   bash Tests/Benchmarks/inspector_fps.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-2}
dotnet build Tests/NeuroPlugin.Editor.Tests -c Release -nologo -clp:ErrorsOnly >/dev/null
report=$(mktemp)
for round in $(seq 1 "$rounds"); do
  NEURO_BENCH_REPORT="$report" dotnet test Tests/NeuroPlugin.Editor.Tests -c Release --no-build \
    --filter "FullyQualifiedName~InspectorPanningBenchmark" >/dev/null || { echo "round $round failed"; exit 1; }
done
cat "$report"
rm -f "$report"
