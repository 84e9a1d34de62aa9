#!/usr/bin/env bash
# The live link's cost to a game (Documentation~/Monitoring.md, Samples/InGameLearning/README.md): frame-time
# percentiles of Samples/InGameLearning (default 4 ms training budget) without the link, with the link and no client,
# and with `neuro monitor` attached for the whole run, the three runs alternated ROUNDS times.
#   bash Tests/Benchmarks/livelink.sh [frames] [rounds]      (NEURO_SKIP_BUILD=1: use the binaries already built)
set -euo pipefail
cd "$(dirname "$0")/../.."
frames=${1:-3600}; rounds=${2:-2}
if [ "${NEURO_SKIP_BUILD:-0}" != 1 ]; then
  dotnet build Editor -c Release -nologo -clp:ErrorsOnly -p:NeuroSkipWebBuild=true >/dev/null
  dotnet build Samples/InGameLearning -c Release -nologo -clp:ErrorsOnly >/dev/null
fi
sample="dotnet Samples/InGameLearning/bin/Release/net10.0/InGameLearning.dll"
neuro="dotnet Editor/bin/Release/net10.0/neuro.dll"
work=$(mktemp -d)
percentiles() { grep -o 'p50 [0-9.]*, p95 [0-9.]*, p99 [0-9.]*' "$1"; }
for round in $(seq 1 "$rounds"); do
  $sample --frames "$frames" --out "$work/off" > "$work/off.txt"
  echo "round $round, no link:             $(percentiles "$work/off.txt")"
  $sample --frames "$frames" --inspect 0 --out "$work/idle" > "$work/idle.txt"
  echo "round $round, link, no client:     $(percentiles "$work/idle.txt")"
  # the game holds its first frame until the recorder is attached: the recorder's own start-up is not in the game's frames
  $sample --frames "$frames" --inspect 0 --wait-for-client 60 --out "$work/attached" > "$work/attached.txt" &
  game=$!
  url=""
  while [ -z "$url" ]; do sleep 0.1; url=$(grep -o 'http://127.0.0.1:[0-9]*/?token=[A-Za-z0-9_-]*' "$work/attached.txt" | head -n 1 || true); done
  $neuro monitor "$url" --out "$work/attached.jsonl" > "$work/monitor.txt"
  wait "$game"
  echo "round $round, link, neuro monitor: $(percentiles "$work/attached.txt") ($(grep -c '"type":"train"' "$work/attached.jsonl") samples recorded)"
done
rm -rf "$work"
