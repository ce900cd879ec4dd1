#!/usr/bin/env bash
# SpFDE on DεpS on one GPU (issue 7): DεpS alone, + freezing + sieving, + 2:4 sparsity, same epoch
# budget; training FLOPs, seconds (ledger, training epochs, epochs after the first) and probe top-1
# in $OUT/spfde.json. Each variant trains in its own process (~150 s of first-meeting cost each on
# an H100, then ~5 s per epoch of 10,240 images at batch 512), so three variants at 12 epochs take
# about 10 minutes: run it twice; the second call keeps the finished variants' rows (RUNS persists
# while the machine stays warm) and restarts a variant that was cut off.
#   bash scripts/gpu/spfde.sh [EPOCHS] [TRAIN_IMAGES] [FREEZE_START] [FREEZE_TARGET]
set -uo pipefail
source scripts/gpu/common.sh
E=${1:-12}; N=${2:-10240}; FS=${3:-$((E / 2))}; FT=${4:-0.03}
log "SpFDE, $E epochs on $N images, freezing from epoch $FS to save $FT"
timeout "${LIMIT_S:-540}" python3 benchmarks/bench_spfde.py --epochs "$E" --limit-train "$N" --batch-size 512 \
  --freeze-start "$FS" --freeze-target "$FT" --out "$RUNS/spfde" --no-progress --json "$OUT/spfde.json" \
  > "$RUNS/spfde.log" 2>&1 || { log "bench_spfde stopped (exit $?): run again to continue"; tail -n 3 "$RUNS/spfde.log"; }
tail -n 12 "$RUNS/spfde.log"
log "done"
