# Shared set-up of the GPU session scripts: environment, the benchmark-only `ofa` wheel, a logger.
# The scripts run from the repo root on the GPU machine, with the packed CIFAR-10 copied to
# data/cifar10-jpeg and wheels of benchmark-only peers in .whl/ (both git-ignored). Run
# directories live outside the checkout (RUNS), which the device tool re-syncs before each call
# (deleting what is not in it). The device tool carries at most 64 MiB: the checkout (16 MB, 13 of
# them the embedded supernet) plus the 54 MB dataset is over it: scripts/gpu/prepare.sh sets all
# of this up (and --undo restores the weights).
export PYTHONUNBUFFERED=1 OFA_EDGE_DATA=$PWD/data/cifar10-jpeg OMP_NUM_THREADS=4
OUT=${OUT:-$PWD/out}
RUNS=${RUNS:-/tmp/ofa-edge-gpu}
mkdir -p "$OUT" "$RUNS"
if compgen -G '.whl/*.whl' >/dev/null && [ ! -d /tmp/site ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
fi
export PYTHONPATH=$PWD:/tmp/site
log() { echo "[$(date -u +%T)] $*"; }
