#!/usr/bin/env bash
# Train the embedded supernet on the H100 and package it, in one call:
#   bash scripts/gpu/train_embedded.sh EPOCHS [SUBNETS]
# DεpS at batch 512 on the full CIFAR-10 training split, probes on the whole test split, then
# scripts/build_pretrained.py (FP16 weights, SUBNETS measured subnets for the accuracy predictor,
# probe top-1 on the test split and on the CI subset) and one archive of it all in $OUT.
set -uo pipefail
source scripts/gpu/common.sh
E=${1:?epochs}; SUBNETS=${2:-150}; RUN=$RUNS/h100-deps
log "training $E epochs"
python3 -m ofa_edge train --method deps --device cuda --batch-size 512 --epochs "$E" --probe-every "$E" \
  --out "$RUN" --no-progress --json > "$RUNS/train.json" 2> "$RUNS/train.log" || { log "train failed"; tail "$RUNS/train.log"; exit 1; }
log "packaging"
python3 scripts/build_pretrained.py "$RUN" --subnets "$SUBNETS" \
  --note "DεpS on one NVIDIA H100, $E epochs, batch 512, full CIFAR-10 (JPEG)" > "$RUNS/card.json" 2> "$RUNS/build.log" \
  || { log "build_pretrained failed"; tail "$RUNS/build.log"; }
tar czf "$OUT/pretrained.tgz" ofa_edge/pretrained -C "$RUNS" train.json train.log card.json build.log \
  h100-deps/metrics.jsonl h100-deps/ledger.json h100-deps/config.json
log "done"
