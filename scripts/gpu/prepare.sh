#!/usr/bin/env bash
# Ready the checkout for the device tool's `run` (run this here, not on the GPU machine), or undo it:
#   bash scripts/gpu/prepare.sh          # data -> data/cifar10-jpeg, wheels -> .whl/, embedded weights untracked
#   bash scripts/gpu/prepare.sh --undo   # the embedded weights tracked again: do this before any commit
# Then each call: run(command="bash scripts/gpu/<script>.sh", carry=["data", ".whl"]).
# The device tool carries at most 64 MiB: the 54 MB dataset and the 16 MB checkout fit only without the
# 13 MB embedded supernet, which the GPU scripts do not use (they train their own).
set -euo pipefail
cd "$(dirname "$0")/../.."
WEIGHTS=(ofa_edge/pretrained/supernet.safetensors ofa_edge/pretrained/supernet.predictor.safetensors)
EXCLUDE=.git/info/exclude
if [ "${1:-}" = --undo ]; then
  git reset -q -- "${WEIGHTS[@]}"
  [ -f "$EXCLUDE" ] && sed -i '\#^/ofa_edge/pretrained/supernet\..*safetensors$#d' "$EXCLUDE"
  git status --short -- ofa_edge/pretrained
  echo "embedded weights are tracked again"
  exit 0
fi
mkdir -p data
[ -d data/cifar10-jpeg ] || cp -r "${OFA_EDGE_DATA_SRC:-../shared/data/cifar10-jpeg}" data/cifar10-jpeg
compgen -G '.whl/*.whl' >/dev/null || python -m pip download -q --no-deps --python-version 3.12 \
  --only-binary :all: -d .whl ofa pytest pluggy iniconfig packaging pygments
git rm -q --cached --ignore-unmatch "${WEIGHTS[@]}"
for w in "${WEIGHTS[@]}"; do grep -qxF "/$w" "$EXCLUDE" 2>/dev/null || echo "/$w" >> "$EXCLUDE"; done
tracked=$(git ls-files -z --cached --others --exclude-standard | xargs -0 cat 2>/dev/null | wc -c)
extra=$(cat data/cifar10-jpeg/* .whl/* | wc -c)
total=$(( (tracked + extra) / 1048576 ))
echo "carried: $(( tracked / 1048576 )) MiB checkout + $(( extra / 1048576 )) MiB data and wheels = $total MiB (limit 64)"
echo "embedded weights untracked: run 'bash scripts/gpu/prepare.sh --undo' before committing"
[ "$total" -lt 64 ] || { echo "over the 64 MiB carry limit" >&2; exit 1; }
