#!/usr/bin/env bash
# Trainer throughput on one GPU (issue 3). The embedded supernet's run trained the full model at
# 1,875 img/s where the bare step of benchmarks/train_cost.py ran at 3,373 img/s. Two differences
# are known: the bare step autotunes cuDNN, and it runs NCHW, while the trainer ran NHWC batches
# until 2026-12-02 (its augmenting gather returned NHWC-strided tensors, whatever --channels-last
# said; on the CPU NHWC is ~2x faster for these nets). Three 4-epoch DεpS runs on 20,480 images at
# batch 512 separate them: NCHW (the CUDA default now), NHWC, NCHW with autotuning. Epochs 1-2 train
# the full model, 3-4 the sandwich (the first sandwich epoch meets every new shape). Then bignas
# at batch 64 without and with CUDA graphs. images/s per epoch in $OUT/overhead_*.jsonl.
set -uo pipefail
source scripts/gpu/common.sh
for mode in no-channels-last channels-last cudnn-benchmark; do
  log "train, --$mode"
  python3 -m ofa_edge train --method deps --epochs 4 --limit-train 20480 --limit-val 1000 --batch-size 512 \
    --device cuda --probe-every 0 --"$mode" --out "$RUNS/overhead-$mode" > "$RUNS/overhead-$mode.log" 2>&1 \
    || { log "train --$mode failed"; tail "$RUNS/overhead-$mode.log"; }
  cp "$RUNS/overhead-$mode/metrics.jsonl" "$OUT/overhead_$mode.jsonl" 2>/dev/null
done
for graphs in no-cuda-graphs cuda-graphs; do
  log "train bignas, batch 64, --$graphs"
  python3 -m ofa_edge train --method bignas --epochs 2 --limit-train 10240 --limit-val 1000 --batch-size 64 \
    --device cuda --probe-every 0 --cudnn-benchmark --"$graphs" --out "$RUNS/b64-$graphs" --json \
    > "$OUT/b64_$graphs.json" 2> "$RUNS/b64-$graphs.log" || { log "--$graphs failed"; tail "$RUNS/b64-$graphs.log"; }
  cp "$RUNS/b64-$graphs/metrics.jsonl" "$OUT/b64_$graphs.jsonl" 2>/dev/null
done
log "done"
