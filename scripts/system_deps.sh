#!/usr/bin/env bash
# Debian packages the pipeline and its tests use: Cairo (CairoSVG) and Chromium (report test).
set -euo pipefail
need=()
ldconfig -p | grep -q 'libcairo.so.2' || need+=(libcairo2)
command -v chromium >/dev/null || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]} (install them with apt-get as root)" >&2
  exit 0
fi
echo "installing Debian packages: ${need[*]}"
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
