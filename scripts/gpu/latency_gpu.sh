#!/usr/bin/env bash
# The lent GPU's latency table on a quiet GPU (issue 4): the device file whose `accelerator:`
# matches the GPU (h100 or h200), every block measured again (--force), the end-to-end correction
# fitted on 100 random subnets and validated on 200 others (target: >= 95 % within +-10 %).
# The table, its reports and the docs summary come back in $OUT/latency_<device>.tgz.
set -uo pipefail
source scripts/gpu/common.sh
GPU=$(python3 -c "import torch; print(torch.cuda.get_device_name())")
case "$GPU" in
  *H100*) DEV=h100 ;;
  *H200*) DEV=h200 ;;
  *) log "no device file for $GPU: add ofa_edge/devices/<name>.yaml with accelerator: set"; exit 2 ;;
esac
log "$DEV latency table on $GPU"
timeout 540 python3 -m ofa_edge profile --device "$DEV" -o "ofa_edge/latency_tables/$DEV.json" --force --calibrate 100 --validate 200 --docs-dir docs --json \
  > "$OUT/profile_$DEV.json" 2> "$RUNS/profile.log" || log "profile exited $?"
tail -n 30 "$RUNS/profile.log"
tar czf "$OUT/latency_$DEV.tgz" "ofa_edge/latency_tables/$DEV.json" ofa_edge/latency_tables/reports/"$DEV".* "docs/latency-validation-$DEV.md" "$RUNS/profile.log" 2>/dev/null
