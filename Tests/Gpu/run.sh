#!/usr/bin/env bash
# Tests/Gpu/run.sh — the prepared GPU check of issue 16: is GL training right on a real GPU?
#
# Runs, in one call and under 8 minutes, with no .NET SDK and no network on the GPU machine:
#   1. LeNet-5, one epoch of Fashion-MNIST with `neuro train`'s defaults, seeds 1–3, on GL, on the CPU, and on GL with
#      NEURO_GL_SYNC=1 (a glFinish after every dispatch): test accuracy and a SHA-256 of the weights;
#   2. LeNet-5 for 200 steps on GL in normal mode and in validation mode (work groups shuffled, then reversed): the
#      weights must be bit-identical;
#   3. the GL-vs-CPU op suite (the NUnit GL tests of NeuroPlugin.Tests, run in process by NUnit's runner), with a digest
#      of every value read back;
#   4. benchmarks (training images/s: LeNet-5 batch 32 and 64, ResNet-20 batch 64, on GL; LeNet-5 batch 64 on the CPU);
#   5. the op suite again in validation mode, for the time left, compared bit for bit with step 3;
# then writes $OUT/gpu-report.json (everything) and prints a short table. Exit status 0 when the pass criterion holds:
# LeNet-5 on GL within 0.5 % test accuracy of the CPU on all three seeds.
#
# Prepare here (a machine with the .NET SDK), from the repository root; it builds nothing on the GPU machine:
#   bash Tests/Gpu/run.sh --prepare          (.gpu/ is in .gitignore)
# This publishes Tests/Gpu/GpuCheck self-contained for linux-x64 (framework trimmed) into .gpu/gpucheck.tar.gz (about
# 13 MiB) and copies the four Fashion-MNIST files into .gpu/fashion-mnist (30 MiB): with the working tree (16 MiB at
# d151aac) and .gl (under 1 MiB), about 59 MiB, under the 64 MiB a device call carries. It also removes .gpu/out, where a
# local run writes its results, so that they do not travel with .gpu. The GL loader packages go in .gl as /work/.library/device/README.md says:
#   echo /.gl/ >>.git/info/exclude; mkdir -p .gl /tmp/amd64/partial; o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'; apt-get $o update; (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
#
# The exact device call for the lead (one call, about 7.5 minutes of device time, leaving room for one rerun):
#   run(command="for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig; bash Tests/Gpu/run.sh",
#       carry=[".gl", ".gpu"], timeout_s=540)
# Four files come back in $OUT: gpu-report.json, summary.txt (the table), run.log and pieces.tgz (every piece).
# Locally (llvmpipe) the same
# command checks the script: `bash Tests/Gpu/run.sh` (results in .gpu/out unless OUT is set).
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
gpu="$root/.gpu"

prepare() {
  set -e
  local publish
  publish="$(mktemp -d)/gpucheck"
  rm -rf "$gpu/out"
  mkdir -p "$gpu/fashion-mnist"
  # the lock file of a RID-specific restore goes to a temporary place: the project's own lock file stays as CI reads it
  dotnet publish "$root/Tests/Gpu/GpuCheck/GpuCheck.csproj" -c Release -r linux-x64 --self-contained \
    -p:PublishTrimmed=true -p:TrimMode=partial -p:SuppressTrimAnalysisWarnings=true \
    -p:NuGetLockFilePath="$(dirname "$publish")/packages.lock.json" -p:RestoreLockedMode=false \
    -p:DebugType=none -nologo -clp:ErrorsOnly -o "$publish"
  # debugger and tracing libraries the runtime loads only on demand
  rm -f "$publish"/libmscordaccore.so "$publish"/libmscordbi.so "$publish"/libcoreclrtraceptprovider.so "$publish"/*.xml
  tar -czf "$gpu/gpucheck.tar.gz" -C "$(dirname "$publish")" gpucheck
  rm -rf "$(dirname "$publish")"
  cp "${NEURO_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}"/*-ubyte.gz "$gpu/fashion-mnist/"
  du -sh "$gpu/gpucheck.tar.gz" "$gpu/fashion-mnist"
}

if [ "${1:-}" = "--prepare" ]; then prepare; exit $?; fi
if [ ! -f "$gpu/gpucheck.tar.gz" ]; then
  if command -v dotnet >/dev/null && dotnet --list-sdks 2>/dev/null | grep -q .; then (prepare) || exit 2
  else echo "run.sh: $gpu/gpucheck.tar.gz is missing and there is no .NET SDK here: run 'bash Tests/Gpu/run.sh --prepare' where there is one and carry .gpu" >&2; exit 2; fi
fi
unpacked="$(mktemp -d)"
tar -xzf "$gpu/gpucheck.tar.gz" -C "$unpacked" || exit 2
tool="$unpacked/gpucheck/gpucheck"

out="${OUT:-$gpu/out}"
# the pieces stay outside $OUT (a device call brings back at most 8 files): they come back packed in pieces.tgz
pieces="$(mktemp -d)/pieces"
mkdir -p "$out" "$pieces"
[ -d "$gpu/fashion-mnist" ] && export NEURO_FASHION_MNIST="$gpu/fashion-mnist"
# NVIDIA's EGL vendor file, where the device machine keeps it (see /work/.library/device/README.md)
vendor=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -f "$vendor" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="$vendor"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

start=$(date +%s)
budget=${GPU_CHECK_SECONDS:-450}   # 7.5 minutes of work; the report takes a second
log="$out/run.log"
: > "$log"

# phase NAME LIMIT COMMAND…: runs within LIMIT seconds and within what is left of the budget; a stopped phase is noted
phase() {
  local name=$1 limit=$2; shift 2
  local left=$(( budget - ($(date +%s) - start) ))
  if [ "$left" -lt 15 ]; then echo "$name (not started)" >> "$pieces/timeouts.txt"; return; fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "== $name (up to ${limit} s)" | tee -a "$log"
  timeout --kill-after=10 "$limit" "$@" >> "$log" 2>&1
  local rc=$?
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then echo "$name" >> "$pieces/timeouts.txt"; echo "   stopped after ${limit} s" | tee -a "$log"
  elif [ $rc -ne 0 ]; then echo "   exit status $rc (see run.log)" | tee -a "$log"; fi
}

phase device 60 "$tool" describe --out "$pieces/device.json"
for seed in 1 2 3; do
  phase "train gl seed $seed" 90 "$tool" train --backend gl --seed $seed --out "$pieces/train-gl-seed$seed.json"
  phase "train cpu seed $seed" 120 "$tool" train --backend cpu --seed $seed --out "$pieces/train-cpu-seed$seed.json"
done
phase "lenet5 200 steps, gl" 60 "$tool" train --backend gl --seed 1 --steps 200 --out "$pieces/steps-gl.json"
for order in shuffled reversed; do
  phase "lenet5 200 steps, validation $order" 90 "$tool" train --backend gl --seed 1 --steps 200 --validate $order --validate-seed 11 --out "$pieces/steps-gl-$order.json"
done
for seed in 1 2 3; do
  phase "train gl sync seed $seed" 90 env NEURO_GL_SYNC=1 "$tool" train --backend gl --sync --seed $seed --out "$pieces/train-glsync-seed$seed.json"
done
phase "op suite" 150 "$tool" tests --digest "$pieces/digest-normal.tsv" --out "$pieces/suite.json"
phase "bench lenet5 gl 32" 30 "$tool" bench --model lenet5 --backend gl --batch 32 --steps 200 --out "$pieces/bench-lenet5-gl-32.json"
phase "bench lenet5 gl 64" 30 "$tool" bench --model lenet5 --backend gl --batch 64 --steps 200 --out "$pieces/bench-lenet5-gl-64.json"
phase "bench resnet_cifar gl 64" 45 "$tool" bench --model resnet_cifar --backend gl --batch 64 --steps 50 --out "$pieces/bench-resnet_cifar-gl-64.json"
phase "bench lenet5 cpu 64" 30 "$tool" bench --model lenet5 --backend cpu --batch 64 --steps 100 --out "$pieces/bench-lenet5-cpu-64.json"
phase "op suite, validation mode" 600 "$tool" tests --validate shuffled --validate-seed 11 --digest "$pieces/digest-validation.tsv" --out "$pieces/suite-validation.json"

"$tool" report --dir "$pieces" --out "$out/gpu-report.json" | tee "$out/summary.txt"
status=${PIPESTATUS[0]}
tar -czf "$out/pieces.tgz" -C "$(dirname "$pieces")" pieces 2>/dev/null
echo "report: $out/gpu-report.json ($(( $(date +%s) - start )) s)"
exit "$status"
