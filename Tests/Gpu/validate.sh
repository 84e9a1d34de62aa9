#!/usr/bin/env bash
# Tests/Gpu/validate.sh — all of GL validation mode on this machine (llvmpipe or a GPU), not only CI's part:
#   1. every GL test of NeuroPlugin.Tests in normal mode, recording a SHA-256 per test of every value it reads back
#      (NEURO_GL_DIGEST);
#   2. the same tests with NEURO_GL_VALIDATE=shuffled (seed 11) and with NEURO_GL_VALIDATE=reversed: every dispatch
#      as single work groups in that order, bindings checked, buffers NaN-filled, hazards tracked — they must pass and
#      read back bit-identical values (the digests are compared per test);
#   3. longer LeNet-5 and ResNet-20 runs in validation mode (GLValidationTrainingTests with NEURO_GL_VALIDATE_STEPS=25),
#      bit-identical to normal mode.
# Allocation and timing tests, which validation mode's bookkeeping would fail by design, and the Acceptance and
# Convergence runs (minutes each in normal mode) are left out of the validated runs. Takes about 10 minutes on 2 cores.
# Usage: bash Tests/Gpu/validate.sh   (builds first; exit status 0 when everything holds)
set -uo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build Tests/NeuroPlugin.Tests -c Release -nologo -clp:ErrorsOnly -p:NeuroSkipWebBuild=true || exit 2
work="$(mktemp -d)"
gl='FullyQualifiedName~NeuroPlugin.Tests.OpenGL|FullyQualifiedName~GLTests|FullyQualifiedName~GoldenTests|FullyQualifiedName~NeuroPlugin.Tests.InGame|FullyQualifiedName~OptimizerOpTests|FullyQualifiedName~OptimizerTests|FullyQualifiedName~NeuroPlugin.Tests.Onnx.OnnxExportTests|FullyQualifiedName~NeuroPlugin.Tests.Onnx.OnnxFixtureTests|FullyQualifiedName~NeuroPlugin.Tests.Onnx.OnnxOpTests|FullyQualifiedName~ZooTrainingTests|FullyQualifiedName~MultiTensor'
filter="($gl)&TestCategory!=Acceptance&TestCategory!=Convergence&FullyQualifiedName!~Allocat&FullyQualifiedName!~Performance&FullyQualifiedName!~LeNetOpTimings"
status=0

run() { # run NAME [VAR=VALUE…]: the GL tests with a digest into $work/NAME.tsv
  local name=$1; shift
  echo "== GL tests, $name"
  env "$@" NEURO_GL_DIGEST="$work/$name.tsv" dotnet test Tests/NeuroPlugin.Tests -c Release --no-build --filter "$filter" \
    --logger "console;verbosity=minimal" 2>&1 | grep -E "^(Passed!|Failed!|  Failed )|GLHazardException"
  # dotnet test's own status: a test that fails before its first readback leaves no digest line to compare
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "   tests failed"; status=1; }
  [ -s "$work/$name.tsv" ] || { echo "   no digest written: the run failed"; status=1; }
}

compare() { # compare NAME: same tests, same bits as normal mode
  local differing
  differing=$(join -t $'\t' <(sort "$work/normal.tsv") <(sort "$work/$1.tsv") | awk -F'\t' '$3 != $5 { print $1 }')
  if [ -n "$differing" ]; then echo "   $1: read back other bits than normal mode in:"; echo "$differing" | sed 's/^/     /'; status=1
  else echo "   $1: bit-identical to normal mode in $(join -t $'\t' <(sort "$work/normal.tsv") <(sort "$work/$1.tsv") | wc -l) tests"; fi
}

run normal
run shuffled NEURO_GL_VALIDATE=shuffled NEURO_GL_VALIDATE_SEED=11
compare shuffled
run reversed NEURO_GL_VALIDATE=reversed
compare reversed
echo "== longer LeNet-5 and ResNet-20 runs in validation mode"
NEURO_GL_VALIDATE_STEPS=25 dotnet test Tests/NeuroPlugin.Tests -c Release --no-build --filter "FullyQualifiedName~GLValidationTrainingTests" \
  --logger "console;verbosity=minimal" 2>&1 | grep -E "^(Passed!|Failed!|  Failed )" || true
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "digests in $work; validate.sh: $([ $status -eq 0 ] && echo PASS || echo FAIL)"
exit $status
