#!/usr/bin/env bash
# The recorded fuzzing runs of issue 16: every reader's campaign in-process (Tests/NeuroPlugin.Tests/Fuzz), by default
# 100 000 inputs each with campaign seed 1.
#   Tests/Fuzz/run.sh [INPUTS] [SEED] [READERS]     e.g. Tests/Fuzz/run.sh 100000 1 model,onnx
# Readers: model checkpoint onnx npy idx-labels idx-images image. Prints one line per reader (inputs, results, typed
# errors, distinct outcomes, time, slowest input, most memory); failing inputs are saved in Tests/Fuzz/findings/ (not
# committed: minimize one, add it to Tests/Fuzz/Regressions/<reader>/ and fix the reader). Exits non-zero on a failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
inputs="${1:-100000}" seed="${2:-1}" only="${3:-}"
report="$(mktemp)"
dotnet build Tests/NeuroPlugin.Tests -c Release -nologo -clp:ErrorsOnly -p:NeuroSkipWebBuild=true || exit 1
NEURO_FUZZ_INPUTS="$inputs" NEURO_FUZZ_SEED="$seed" NEURO_FUZZ_ONLY="$only" NEURO_FUZZ_REPORT="$report" \
NEURO_FUZZ_FINDINGS="$PWD/Tests/Fuzz/findings" \
  dotnet test Tests/NeuroPlugin.Tests -c Release --no-build --filter "FullyQualifiedName~Fuzz.FuzzTests.SeededSlice" -- NUnit.DefaultTimeout=0
status=$?
echo
echo "| reader | inputs | results | typed errors | distinct outcomes | time | slowest input | most allocated | largest RSS growth | failures |"
echo "|---|---|---|---|---|---|---|---|---|---|"
while IFS= read -r line; do
  field() { echo "$line" | grep -o "\"$1\":[^,}]*" | head -n 1 | cut -d: -f2 | tr -d '"'; }
  failures=$(echo "$line" | grep -o '"Index":' | wc -l)
  printf '| %s | %d | %d | %d | %d | %.0f s | %.0f ms | %.1f MiB | %.1f MiB | %d |\n' "$(field Target)" "$(field Inputs)" "$(field Results)" \
    "$(field TypedErrors)" "$(field DistinctOutcomes)" "$(field Seconds)" "$(echo "$(field MaxInputSeconds) * 1000" | bc -l)" \
    "$(echo "$(field MaxAllocatedBytes) / 1048576" | bc -l)" "$(echo "$(field MaxResidentGrowthBytes) / 1048576" | bc -l)" "$failures"
done < "$report"
rm -f "$report"
exit "$status"
