#!/usr/bin/env bash
# The first GPU measurements, cut to fit a lent GPU machine: 15 minutes of device time in all
# (machine start 1-2 min and the 9 staging calls of ../shared/gpu/README.md ~5-8 min included),
# at most 10 minutes and 64 MiB per call. So: prepare here, stage, and run the most valuable parts
# in the last staging call; a second call only if time is left.
#
#   bash docs/gpu-checklist.sh prepare          # here, before any device call: kit + a ~20 MB app
#   bash docs/gpu-checklist.sh PART...          # on the device, after (or in) the last staging call
#
# PART, most valuable first (each under its own timeout; estimates for an H100/H200):
#   check    libtorch loads its CUDA build and counts the GPU; slt info; nvidia-smi            <1 min
#   leak     mini, 6 steps of 16 x 512 tokens with a checkpoint every step: host RSS must stay
#            flat (DJL leaked a host copy of every checkpoint on a GPU: +0.47 GB each for mini)  ~1 min
#   small    GPT-2 small, 512 x 1024 tokens per step (micro 8): tokens/s, MFU, device memory,
#            strict fp32 (train.precision fp32; 1 timed step after 1, plus 1 profiled)          ~2 min
#   tf32     the same with train.precision tf32 (the default on a GPU: the TF32 A/B)           ~1 min
#   bf16     the same with train.precision bf16 (16-bit products, fp32 scores and AdamW)       ~1 min
#   precision  the quickstart for 40 steps in fp32, tf32 and bf16: tokens/s and the validation
#            loss each reaches (the three should agree within a few hundredths of a nat)       ~2 min
#   mini     mini at 512 x 1024 (micro 16)                                                      ~1 min
#   micro    largest micro-batch at 1024 tokens for mini and small                              ~3 min
#   quickstart  configs/quickstart.yaml on the GPU (its run directory in /tmp, not in $OUT)    ~1 min
# First call: `check leak small tf32 bf16` (~6 min). Second call, if >= 5 min are left: `precision mini micro`.
# Logs (a few KB each) go to $OUT/PART.log; nothing large is written to $OUT. SMOKE=1 runs every
# part on the CPU at a tiny shape with target/classes, to check the commands here (no device time).
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
  echo "gpu-checklist: .gpu/app is $size MB; stage with ../shared/gpu/README.md section 2 (call 9 carries"
  echo "  [.gpu/ctl, .gpu/part-08, .gpu/app] and runs: bash .gpu/ctl/device-stage.sh && bash docs/gpu-checklist.sh check leak small tf32)"
  exit 0
fi
parts="check leak small tf32 bf16 precision mini micro quickstart"
(( $# > 0 )) || { echo "usage: bash docs/gpu-checklist.sh prepare | PART... ($parts)" >&2; exit 2; }
for part in "$@"; do
  [[ " $parts " == *" $part "* ]] || { echo "gpu-checklist: unknown part '$part'; use $parts" >&2; exit 2; }
done

out="${OUT:-/tmp/gpu-checklist}"
mkdir -p "$out"
work=$(mktemp -d) # run directories and checkpoints: never in $OUT (everything there travels back)
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
data=../shared/data/wikitext-103
[[ -f $data/wiki.valid.raw ]] || data=.gpu/app/data

slt() { java -cp "$cp" slt.cli.Main "$@"; }

# bench PRESET BATCH MICRO [extra args]: 1 timed step after 1 (plus 1 profiled) at sequence 1024
bench() {
  local preset=$1 batch=$2 micro=$3 seq=1024
  shift 3
  if [[ "${SMOKE:-0}" == 1 ]]; then preset=tiny batch=2 micro=1 seq=32; fi
  slt bench --set model.preset="$preset" --set train.batch_size="$batch" --set train.micro_batch="$micro" \
    --set data.seq_len="$seq" --set model.context="$seq" --set run.device="$device" --steps 1 --warmup 1 --json "$@"
}

# leak: a short mini run, a checkpoint every step; VmRSS sampled every second beside its log lines,
# then the RSS after the second step against the RSS after the last
leak() {
  local preset=mini batch=16 micro=8 seq=512
  if [[ "${SMOKE:-0}" == 1 ]]; then preset=tiny batch=2 micro=1 seq=32; fi
  local log=$work/leak-train.log
  java -cp "$cp" slt.cli.Main train --config configs/quickstart.yaml --set model.preset=$preset --set run.device="$device" \
    --set run.dir="$work/runs" --set run.name=leak --set data.path="$data" --set data.seq_len=$seq \
    --set train.epochs=1 --set train.steps_per_epoch=6 --set train.batch_size=$batch --set train.micro_batch=$micro \
    --set train.checkpoint_every=1 --set train.keep_checkpoints=1 --set train.eval_every=6 --set train.eval_windows=8 \
    --set train.log_every=1 > "$log" 2>&1 &
  local pid=$! rss=0 rss2="" n=0 # the JVM's own pid
  while kill -0 $pid 2> /dev/null; do
    rss=$(awk '/VmRSS/ {print int($2 / 1024)}' /proc/$pid/status 2> /dev/null || echo "$rss")
    n=$(grep -c 'step [0-9]*/' "$log" || true)
    if [[ -z "$rss2" ]] && (( n >= 2 )); then rss2=$rss; fi
    echo "$(date -u +%H:%M:%S) rss ${rss} MB after ${n} logged steps"
    sleep 1
  done
  local rc=0
  wait $pid || rc=$?
  cat "$log"
  (( rc == 0 )) || { echo "leak: the training failed (exit $rc)"; return $rc; }
  echo "leak: host RSS ${rss2:-?} MB after step 2, ${rss} MB at the end (6 checkpoints of $preset; flat = no leak)"
}

micro() {
  if [[ "${SMOKE:-0}" == 1 ]]; then
    slt bench --max-micro-batch --set model.preset=tiny --set train.batch_size=4 --set train.micro_batch=1 \
      --set data.seq_len=32 --set run.device=cpu --memory-limit 8GB --json
    return
  fi
  local preset
  for preset in mini small; do
    slt bench --max-micro-batch --set model.preset="$preset" --set train.batch_size=512 --set data.seq_len=1024 \
      --set model.context=1024 --set run.device=gpu --json
  done
}

# limit PART: seconds a part may take before it is stopped (the next part still runs)
limit() {
  case "$1" in
    check) echo 90 ;; leak) echo 180 ;; small) echo 240 ;; tf32) echo 150 ;; bf16) echo 150 ;; mini) echo 120 ;;
    micro) echo 240 ;; quickstart) echo 180 ;; precision) echo 240 ;;
  esac
}

for part in "$@"; do
  start=$(date +%s)
  echo "== $part ($(date -u +%H:%M:%S) UTC, at most $(limit "$part") s)"
  export -f slt bench leak micro
  export cp device work data SMOKE
  rc=0
  case "$part" in
    check) timeout -k 10 "$(limit check)" bash -c 'slt info --device "$device"; if command -v nvidia-smi > /dev/null; then nvidia-smi -L; fi' ;;
    leak) timeout -k 10 "$(limit leak)" bash -c leak ;;
    small) timeout -k 10 "$(limit small)" bash -c 'bench small 512 8 --set train.precision=fp32' ;;
    tf32) timeout -k 10 "$(limit tf32)" bash -c 'bench small 512 8 --set train.precision=tf32' ;;
    bf16) timeout -k 10 "$(limit bf16)" bash -c 'bench small 512 8 --set train.precision=bf16' ;;
    precision)
      steps=40
      if [[ "${SMOKE:-0}" == 1 ]]; then steps=2; fi
      export steps
      timeout -k 10 "$(limit precision)" bash -c 'for p in fp32 tf32 bf16; do
          slt train --config configs/quickstart.yaml --set run.device="$device" --set run.dir="$work/prec" \
            --set run.name=$p --set data.path="$data" --set train.precision=$p --set train.epochs=1 \
            --set train.steps_per_epoch=$steps --set train.log_every=$steps 2>&1 | grep -E "precision|step $steps/|done:"
        done' ;;
    mini) timeout -k 10 "$(limit mini)" bash -c 'bench mini 512 16' ;;
    micro) timeout -k 10 "$(limit micro)" bash -c micro ;;
    quickstart)
      extra="--set data.path=$data"
      if [[ "${SMOKE:-0}" == 1 ]]; then extra+=" --set train.epochs=1 --set train.steps_per_epoch=2"; fi
      export extra
      timeout -k 10 "$(limit quickstart)" bash -c 'slt train --config configs/quickstart.yaml --set run.device="$device" --set run.dir="$work/runs" $extra' ;;
  esac > "$out/$part.log" 2>&1 || rc=$?
  cat "$out/$part.log"
  (( rc != 124 )) || echo "== $part stopped at its limit of $(limit "$part") s" | tee -a "$out/$part.log"
  echo "== $part took $(( $(date +%s) - start )) s (exit $rc)" | tee -a "$out/$part.log"
done
rm -rf "$work"
