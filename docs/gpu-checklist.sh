#!/usr/bin/env bash
# The GPU measurements of docs/BENCHMARKS.md ("GPU"), cut to fit the lent H100: at most 10 minutes
# per device call and 30 minutes in all, of which staging the kit (../shared/gpu/README.md) takes
# 6-8. `./slt bench --sweep` with its default 10 + 3 steps would need ~13 min for medium alone
# (one step of 512 x 1024 tokens is ~1.3 PFLOP), so each part here times 2 steps after 1.
#
#   bash docs/gpu-checklist.sh prepare        # here, before any device call: kit + a 5 MB app
#   bash docs/gpu-checklist.sh PART           # on the device, after the staging calls
#
# PART, in order of importance (estimated minutes at ~25 TFLOP/s fp32, from FLOPs per step):
#   small      GPT-2 small at 512 x 1024 (micro 8): tokens/s, MFU, breakdown, device memory   ~2
#   mini       mini at 512 x 1024 (micro 16)                                                  ~1
#   medium     medium at 512 x 1024 (micro 4)                                                 ~5
#   micro      largest micro-batch at 1024 tokens for mini, small, medium                     ~3
#   tf32       small again with TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 (the TF32 A/B)             ~1
#   quickstart configs/quickstart.yaml on the GPU                                             ~2
#   check      slt info --device gpu and nvidia-smi                                           <1
# Several parts in one call: `bash docs/gpu-checklist.sh check small mini`. Logs go to $OUT
# (the device tool brings them back). SMOKE=1 runs every part on the CPU at a tiny shape with
# target/classes, to check the commands themselves here (no device time).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ "${1:-}" == prepare ]]; then
  kit=../shared/gpu/pack.sh
  [[ -f "$kit" ]] || { echo "gpu-checklist: $kit not found; the GPU kit must sit in ../shared/gpu" >&2; exit 2; }
  # jdeps misses what log4j-core and jackson need (java.beans), XChart (AWT) and the downloader (java.net.http)
  bash "$kit" --app --modules java.desktop,java.net.http,java.scripting
  # pack.sh copies every jar in target/, including the 130 MB shaded jar that bundles the CPU libtorch:
  # it would not fit a 64 MiB call, and its CPU natives must not shadow the kit's CUDA ones.
  rm -f .gpu/app/slt.jar .gpu/app/original-slt.jar
  # The device gets only the working tree and what is carried: the quickstart's data travels in .gpu/app.
  mkdir -p .gpu/app/data && cp ../shared/data/wikitext-103/wiki.valid.raw .gpu/app/data/
  size=$(du -sm .gpu/app | cut -f1)
  (( size < 40 )) || { echo "gpu-checklist: .gpu/app is $size MB; remove any fat jar from it (64 MiB per call)" >&2; exit 2; }
  # Self-check, no device time: the kit's own Java runs the app (a step and the quickstart's start)
  # on this machine's CPU libtorch. The CUDA libraries themselves can only be checked on the device.
  ./slt info > /dev/null # extracts the CPU libtorch into ~/.djl.ai once
  cpu_torch=$(ls -d "$HOME"/.djl.ai/pytorch/2.5.1-*-cpu-* 2>/dev/null | head -1)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cat .gpu/part-* | xz -dc | tar -x -C "$tmp" ./jre
  kjava() {
    PYTORCH_LIBRARY_PATH="$cpu_torch" PYTORCH_VERSION=2.5.1 PYTORCH_FLAVOR=cpu DJL_OFFLINE=true \
      "$tmp/jre/bin/java" -cp '.gpu/app/*:.gpu/app/lib/*' slt.cli.Main "$@"
  }
  kjava bench --set model.preset=tiny --set train.batch_size=2 --set train.micro_batch=1 --set data.seq_len=32 \
    --steps 1 --warmup 0 > "$tmp/bench.log" 2>&1 || { cat "$tmp/bench.log" >&2; echo "gpu-checklist: the app does not run on the kit's Java (above)" >&2; exit 1; }
  kjava train --config configs/quickstart.yaml --set data.path=.gpu/app/data --set run.dir="$tmp/runs" \
    --set train.epochs=1 --set train.steps_per_epoch=1 > "$tmp/train.log" 2>&1 || { cat "$tmp/train.log" >&2; echo "gpu-checklist: the quickstart does not run on the kit's Java (above)" >&2; exit 1; }
  echo "gpu-checklist: the app ran a bench step and a 1-step quickstart on the kit's Java"
  echo "gpu-checklist: .gpu/app is $size MB; stage with ../shared/gpu/README.md section 2, then carry [.gpu/ctl, .gpu/app] in every later call"
  exit 0
fi
(( $# > 0 )) || { echo "usage: bash docs/gpu-checklist.sh prepare | PART... (small mini medium micro tf32 quickstart check)" >&2; exit 2; }

out="${OUT:-/tmp/gpu-checklist}"
mkdir -p "$out"
if [[ "${SMOKE:-0}" == 1 ]]; then
  cp="target/classes:$(./mvnw -q dependency:build-classpath -Dmdep.outputFile=/dev/stdout -Dmdep.includeScope=runtime)"
  device=cpu
else
  # device-stage.sh moves the carried parts away: never let it run here, where .gpu/part-* are the originals
  command -v nvidia-smi > /dev/null || { echo "gpu-checklist: no nvidia-smi here; run the parts on the GPU machine (or SMOKE=1 here)" >&2; exit 2; }
  [[ -f .gpu/ctl/env.sh ]] || { echo "gpu-checklist: .gpu/ctl/env.sh missing; run the staging calls first (../shared/gpu/README.md)" >&2; exit 2; }
  bash .gpu/ctl/device-stage.sh -q
  set +eu # the kit's env.sh is written for an interactive shell
  # shellcheck disable=SC1091
  source .gpu/ctl/env.sh
  set -eu
  [[ -n "${PYTORCH_LIBRARY_PATH:-}" ]] || { echo "gpu-checklist: .gpu/ctl/env.sh set no PYTORCH_LIBRARY_PATH; is the kit unpacked?" >&2; exit 2; }
  cp='.gpu/app/*:.gpu/app/lib/*'
  device=gpu
fi

slt() { java -cp "$cp" slt.cli.Main "$@"; }

# bench PRESET BATCH MICRO [extra args]: 2 timed steps after 1 at sequence 1024 (tiny shapes in SMOKE mode)
bench() {
  local preset=$1 batch=$2 micro=$3 seq=1024
  shift 3
  if [[ "${SMOKE:-0}" == 1 ]]; then preset=tiny batch=2 micro=1 seq=32; fi
  slt bench --set model.preset="$preset" --set train.batch_size="$batch" --set train.micro_batch="$micro" \
    --set data.seq_len="$seq" --set model.context="$seq" --set run.device="$device" --steps 2 --warmup 1 --json "$@"
}

micro() {
  if [[ "${SMOKE:-0}" == 1 ]]; then
    slt bench --max-micro-batch --set model.preset=tiny --set train.batch_size=4 --set train.micro_batch=1 \
      --set data.seq_len=32 --set run.device=cpu --memory-limit 8GB --json
    return
  fi
  local preset
  for preset in mini small medium; do
    slt bench --max-micro-batch --set model.preset="$preset" --set train.batch_size=512 --set data.seq_len=1024 \
      --set model.context=1024 --set run.device=gpu --json
  done
}

for part in "$@"; do
  start=$(date +%s)
  echo "== $part ($(date -u +%H:%M:%S) UTC)"
  case "$part" in
    check) slt info --device "$device"; if command -v nvidia-smi > /dev/null; then nvidia-smi; fi ;;
    small) bench small 512 8 ;;
    mini) bench mini 512 16 ;;
    medium) bench medium 512 4 ;;
    micro) micro ;;
    tf32) TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 bench small 512 8 ;;
    quickstart)
      extra=()
      if [[ "${SMOKE:-0}" == 1 ]]; then extra=(--set train.epochs=1 --set train.steps_per_epoch=2); fi
      if [[ ! -f ../shared/data/wikitext-103/wiki.valid.raw ]]; then extra+=(--set data.path=.gpu/app/data); fi
      slt train --config configs/quickstart.yaml --set run.device="$device" --set run.dir="$out/runs" "${extra[@]}" ;;
    *) echo "gpu-checklist: unknown part '$part'; use small mini medium micro tf32 quickstart check" >&2; exit 2 ;;
  esac 2>&1 | tee "$out/$part.log"
  echo "== $part took $(( $(date +%s) - start )) s" | tee -a "$out/$part.log"
done
