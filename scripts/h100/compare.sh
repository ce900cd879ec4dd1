#!/usr/bin/env bash
# Same-budget training comparisons on one GPU, for a session that has the GPU time:
#   bash scripts/h100/compare.sh [EPOCHS]      (default 10; about 5 minutes per 10-epoch run)
# SpFDE on DεpS (issue 7: alone, + freezing + sieving, + 2:4 sparsity) and the paper's
# deps/ofa/bignas reproduction (issue 3). Results in $OUT as JSON.
set -uo pipefail
source scripts/h100/common.sh
E=${1:-10}
log "SpFDE, $E epochs"
python3 benchmarks/bench_spfde.py --epochs "$E" --batch-size 512 --out "$RUNS/spfde" --no-progress --json "$OUT/spfde.json" \
  > "$RUNS/spfde.log" 2>&1 || { log "bench_spfde failed"; tail "$RUNS/spfde.log"; }
log "deps/ofa/bignas, $E epochs"
python3 benchmarks/train_cost.py --device cuda --batch 512 --reps 3 --no-ofa --repro --epochs "$E" --runs "$RUNS/repro" \
  > "$OUT/repro.json" 2> "$RUNS/repro.log" || { log "repro failed"; tail "$RUNS/repro.log"; }
log "done"
