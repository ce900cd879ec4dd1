#!/usr/bin/env bash
# Issue 3's reproduction and issue 7's SpFDE benchmark in one device call, their training runs
# side by side on the one GPU (at 32 px each run is bound by its own Python and launches, so the
# runs share the GPU well; their seconds are under that sharing and say so in docs/benchmarks.md):
#   bash scripts/gpu/train_jobs.sh [REPRO_EPOCHS] [SPFDE_EPOCHS] [TRAIN_IMAGES]
# deps, bignas and ofa at REPRO_EPOCHS and ofa at the paper's 590/270 ratio, each its own process
# (benchmarks/train_cost.py --repro --only), then one --repro pass that collects the finished runs;
# and benchmarks/bench_spfde.py (DεpS alone, + freezing + sieving, + 2:4 sparsity). Both resumable.
set -uo pipefail
source scripts/gpu/common.sh
E=${1:-6}; S=${2:-10}; N=${3:-20480}
P=$(python3 -c "print(round($E * 590 / 270))")
repro() { python3 benchmarks/train_cost.py --device cuda --batch 512 --no-ofa --repro --epochs "$E" --limit-train "$N" --runs "$RUNS/repro" "$@"; }
log "SpFDE $S epochs, reproduction $E epochs (ofa $P), $N images, all at once"
python3 benchmarks/bench_spfde.py --epochs "$S" --limit-train "$N" --batch-size 512 --freeze-start 2 --freeze-target 0.05 \
  --out "$RUNS/spfde" --no-progress --json "$OUT/spfde.json" > "$RUNS/spfde.log" 2>&1 &
for run in deps-$E bignas-$E ofa-$E ofa-$P; do
  repro --only "$run" > /dev/null 2> "$RUNS/repro-$run.log" &
done
wait
log "trained"
repro > "$OUT/repro.json" 2> "$RUNS/repro.log" || { log "repro failed"; tail -n 5 "$RUNS/repro.log"; }
tail -n 12 "$RUNS/spfde.log"
tar czf "$OUT/logs.tgz" -C "$RUNS" spfde.log repro.log $(cd "$RUNS" && ls repro-*.log) 2>/dev/null
log "done"
