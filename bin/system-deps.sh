#!/usr/bin/env bash
# Debian packages Caseport needs beyond Python: chromium (browser tests), CJK fonts
# (WeasyPrint documents and screenshots), poppler-utils (pdftoppm), gettext (translations).
set -euo pipefail
PACKAGES=(chromium fonts-noto-cjk fonts-wqy-microhei poppler-utils gettext)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "system-deps: please install: ${missing[*]} (Debian/Ubuntu package names)" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "system-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
