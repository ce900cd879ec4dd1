#!/usr/bin/env bash
# GPU measurements (H100 or H200) on a quiet GPU: the CUDA-only tests (CUDA-graph training steps against eager
# ones, the CUDA latency backends; needs pytest's wheels in .whl/), then training-step cost of the
# supernet vs its static subnets and vs once-for-all, eager and with CUDA graphs
# (benchmarks/train_cost.py at batch 256, 512, 1024). Results go to $OUT. The GPU's latency table
# is latency_gpu.sh.
set -uo pipefail
source scripts/gpu/common.sh
log "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)"
python3 -m pytest -q -x tests/train/test_cuda_graphs.py tests/latency/test_backends.py tests/supernet/test_network.py \
  > "$OUT/cuda_tests.txt" 2>&1 || { log "CUDA tests failed: timing the eager steps only"; graphs=--no-cuda-graphs; }
tail -n 5 "$OUT/cuda_tests.txt"
for b in 256 1024; do
  python3 benchmarks/train_cost.py --device cuda --batch $b --reps 10 --warmup 3 ${graphs:-} > "$OUT/train_cost_b$b.json" || log "train_cost b$b failed"
done
python3 benchmarks/train_cost.py --device cuda --batch 512 --reps 10 --warmup 3 --no-ofa --trainer-ops ${graphs:-} > "$OUT/train_cost_b512.json"
