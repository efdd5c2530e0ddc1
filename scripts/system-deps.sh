#!/usr/bin/env bash
# Install the Debian packages Huikuan needs, if any is missing.
#   scripts/system-deps.sh run   -> what the app needs (PDF rendering, CJK fonts, gettext)
#   scripts/system-deps.sh test  -> the above plus the browser and PDF tools the tests use
set -euo pipefail

packages=(gettext libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei)
if [ "${1:-run}" = "test" ]; then
  packages+=(chromium poppler-utils)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "Not root and no sudo: install these packages first: ${missing[*]}" >&2
  exit 1
fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
