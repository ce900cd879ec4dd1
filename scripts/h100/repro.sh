#!/usr/bin/env bash
# The DεpS paper's claim at small scale on one GPU (issue 3): deps vs ofa vs bignas at the same
# epoch budget and at the paper's epoch ratio (ofa 590/270 x), top-1 of probe subnets after BN
# recalibration, in $OUT/repro.json.
#   bash scripts/h100/repro.sh [EPOCHS] [TRAIN_IMAGES]     (default 10 epochs on 20,480 images:
#   deps, bignas, ofa at 10 and ofa at 22 epochs, ~52 epochs of ~13 s at batch 512: ~11 minutes,
#   so run it in two device calls: it resumes each run where the previous call stopped)
set -uo pipefail
source scripts/h100/common.sh
E=${1:-10}
N=${2:-20480}
log "deps/ofa/bignas, $E epochs on $N images"
timeout "${LIMIT_S:-540}" python3 benchmarks/train_cost.py --device cuda --batch 512 --reps 3 --no-ofa --repro --epochs "$E" \
  --limit-train "$N" --runs "$RUNS/repro" > "$OUT/repro.json" 2> "$RUNS/repro.log" \
  || { log "repro stopped (exit $?): run again to continue"; tail -n 3 "$RUNS/repro.log"; }
log "done"
