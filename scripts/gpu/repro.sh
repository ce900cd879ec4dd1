#!/usr/bin/env bash
# The DεpS paper's claim at small scale on one quiet GPU (issue 3): deps vs ofa vs bignas at the
# same epoch budget and at the paper's epoch ratio (ofa 590/270 x), top-1 of probe subnets after
# BN recalibration, in $OUT/repro.json. Each run trains in its own process, one after another, so
# each pays the GPU's one-time cost of meeting every layer shape (~150 s) and their seconds
# compare; then one --repro pass collects the finished runs.
#   bash scripts/gpu/repro.sh [EPOCHS] [TRAIN_IMAGES]     (default 6 epochs on 10,240 images:
#   4 runs, 31 epochs, ~12 minutes, so two device calls: finished runs are kept and a cut-off one
#   resumes from its last checkpoint)
set -uo pipefail
source scripts/gpu/common.sh
E=${1:-6}; N=${2:-10240}
P=$(python3 -c "print(round($E * 590 / 270))")
REPRO=(python3 benchmarks/train_cost.py --device cuda --batch 512 --no-ofa --repro --epochs "$E" --limit-train "$N" --runs "$RUNS/repro")
log "deps/ofa/bignas, $E epochs (ofa also $P) on $N images"
end=$((SECONDS + ${LIMIT_S:-540}))
for run in deps-$E bignas-$E ofa-$E ofa-$P; do
  left=$((end - SECONDS))
  [ "$left" -gt 30 ] || { log "out of time before $run: run again to continue"; exit 0; }
  timeout "$left" "${REPRO[@]}" --only "$run" > /dev/null 2> "$RUNS/repro-$run.log" \
    || { log "$run stopped: run again to continue"; exit 0; }
  log "$run done"
done
"${REPRO[@]}" > "$OUT/repro.json" 2> "$RUNS/repro.log" || { log "collecting failed"; tail -n 5 "$RUNS/repro.log"; }
log "done"
