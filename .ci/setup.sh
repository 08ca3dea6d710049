#!/usr/bin/env bash
# Installs what building and running CARBS for fleets needs on Debian 12 (as root).
#   bash .ci/setup.sh          build and run: LAPACK (OpenBLAS), rabbitmq-c, SQLite
#   bash .ci/setup.sh --test   the same plus a RabbitMQ server for the broker tests, headless Chromium (renders
#                              the live view's dashboard) and Python's prometheus_client (parses /metrics)
set -euo pipefail
packages=(pkg-config libopenblas-dev liblapacke-dev librabbitmq-dev libsqlite3-dev)
if [[ "${1:-}" == "--test" ]]; then
    packages+=(rabbitmq-server openssl chromium)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ "${1:-}" == "--test" ]] && ! python3 -c 'import prometheus_client' 2>/dev/null; then
    echo "setup: installing prometheus_client (pip)" >&2
    python3 -m pip install --quiet prometheus_client 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages prometheus_client
fi
echo "setup: all packages present" >&2
