#!/usr/bin/env bash
# What a GPU pays the first time it meets a layer shape, per convolution setting (issues 3 and 7):
# every training process so far paid ~150 s of it before its steps ran at full speed. Each setting
# runs in a fresh process; rows land in $OUT/shape_cost.json as they finish. ~2-4 minutes.
#   bash scripts/gpu/shape_cost.sh [SUBNETS]
set -uo pipefail
source scripts/gpu/common.sh
log "shape cost, ${1:-20} random subnets at batch 512"
timeout "${LIMIT_S:-300}" python3 benchmarks/shape_cost.py --device cuda --batch 512 --subnets "${1:-20}" --reps 10 \
  --settings cudnn,no-cudnn-depthwise,no-cudnn,cudnn-benchmark,cudnn-eager-modules --json "$OUT/shape_cost.json" \
  || log "shape_cost stopped (exit $?); the finished settings are in shape_cost.json"
log "done"
