#!/usr/bin/env bash
# ../shared/pytorch-reference/side_by_side.sh plus one variant: PyTorch under glibc with the same
# tunable the slt launcher sets (GLIBC_TUNABLES=glibc.malloc.hugetlb=1). Run from the project root
# after bash ../shared/pytorch-reference/setup.sh:  bash docs/side-by-side.sh 2 > out.tsv
set -u
REF="$(cd ../shared/pytorch-reference && pwd)"
ROUNDS=${1:-2}
JE=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
shapes=("tiny 16 128" "mini 2 512" "mini 8 128" "small 4 128")
for r in $(seq 1 "$ROUNDS"); do
  for s in "${shapes[@]}"; do
    set -- $s; p=$1; b=$2; t=$3
    for alloc in glibc jemalloc glibchuge; do
      if [ "$alloc" != glibchuge ]; then
      v=$(SLT_MALLOC=$alloc ./slt bench --config configs/quickstart.yaml --set model.preset=$p \
            --set train.batch_size=$b --set train.micro_batch=$b --set data.seq_len=$t \
            --steps 6 --warmup 2 --json 2>/dev/null | tail -1 |
          python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print(round(d['tokens_per_s'],1), '\t(matmul peak', round(d['peak_flops']/1e9), 'GFLOP/s)')" 2>/dev/null || echo NA)
      echo -e "$r\t$p ${b}x$t\tslt-$alloc\t$v"
      fi
      case $alloc in jemalloc) pre="LD_PRELOAD=$JE MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1";; glibchuge) pre="GLIBC_TUNABLES=glibc.malloc.hugetlb=1";; *) pre="";; esac
      v=$(cd "$REF" && env $pre /usr/bin/python3 tokps.py --preset $p --batch $b --seq $t --steps 6 2>/dev/null | tail -1 || echo NA)
      echo -e "$r\t$p ${b}x$t\ttorch-$alloc\t$v"
    done
  done
done
