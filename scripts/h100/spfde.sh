#!/usr/bin/env bash
# SpFDE on DεpS on one GPU (issue 7): DεpS alone, + freezing + sieving, + 2:4 sparsity, same epoch
# budget; training FLOPs, GPU-seconds and probe top-1 in $OUT/spfde.json.
#   bash scripts/h100/spfde.sh [EPOCHS] [TRAIN_IMAGES]     (default 10 epochs on 20,480 images:
#   about 13 s per epoch at batch 512, so ~7 minutes for the variants)
set -uo pipefail
source scripts/h100/common.sh
E=${1:-10}
N=${2:-20480}
log "SpFDE, $E epochs on $N images"
python3 benchmarks/bench_spfde.py --epochs "$E" --limit-train "$N" --batch-size 512 --out "$RUNS/spfde" --no-progress \
  --json "$OUT/spfde.json" > "$RUNS/spfde.log" 2>&1 || { log "bench_spfde failed"; tail "$RUNS/spfde.log"; }
log "done"
