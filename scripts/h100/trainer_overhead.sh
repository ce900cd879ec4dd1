#!/usr/bin/env bash
# Trainer throughput on one GPU without and with cuDNN autotuning, then without and with CUDA
# graphs at batch 64, where the sandwich step is launch-bound and the graphs of all ~540 block
# variants (20 blocks x 9 settings x 3 resolutions) fit in memory (issue 3). The embedded
# supernet's run trained the full model at 1,875 img/s where the bare step of
# benchmarks/train_cost.py, which autotunes, ran at 3,373 img/s. Two 4-epoch DεpS runs on
# 20,480 images at batch 512: epochs 1-2 train the full model, 3-4 the sandwich (the first
# sandwich epoch meets every new shape). images/s per epoch in $OUT/overhead_*.jsonl.
set -uo pipefail
source scripts/h100/common.sh
for mode in no-cudnn-benchmark cudnn-benchmark; do
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
