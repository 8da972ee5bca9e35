#!/usr/bin/env bash
# Renders a beacon-conformance HTML report in headless Chromium at 1280 px and writes a PNG,
# to look at what a person opening the CI artifact sees.
#   conformance/scripts/screenshot-report.sh report.html report.png [height]
set -euo pipefail
html=$(realpath "${1:?usage: screenshot-report.sh REPORT.html OUT.png [HEIGHT]}")
png=$(realpath -m "${2:?usage: screenshot-report.sh REPORT.html OUT.png [HEIGHT]}")
height=${3:-2400}
if ! command -v chromium >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# No network: the report must need none, and Chromium must not try.
timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --window-size=1280,"$height" --screenshot="$png" "file://$html" 2>/dev/null
echo "wrote $png"
