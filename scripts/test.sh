#!/usr/bin/env bash
# Install ofa-edge with its test dependencies and run the test suite (the README's test command).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q torch==2.14.1 torchvision==0.29.1
python -m pip install -q -e '.[dev]'
python -m pytest -n 2 --dist loadfile -q "$@"
