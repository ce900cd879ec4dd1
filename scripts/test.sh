#!/usr/bin/env bash
# Install ofa-edge with its test dependencies and run the test suite (the README's test command).
# As root on Debian it also installs the real servers some tests start on localhost:
# PostgreSQL (distributed search) and OpenSSH (profiling over --ssh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  need=()
  [ -x /usr/sbin/sshd ] || need+=(openssh-server openssh-client)
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi
python -m pip install -q torch==2.14.1 torchvision==0.29.1
python -m pip install -q -e '.[dev]'
python -m pytest -n 2 --dist loadfile -q "$@"
