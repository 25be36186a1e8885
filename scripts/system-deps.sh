#!/usr/bin/env bash
# Installs the Debian packages the project needs, when they are missing.
#   scripts/system-deps.sh run    build deps for the Python packages (mysqlclient), gettext
#   scripts/system-deps.sh test   the above plus MariaDB server, Redis server and Chromium
set -euo pipefail
what=${1:-run}

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in pkg-config libmariadb-dev gettext; do have_pkg "$pkg" || need+=("$pkg"); done
if [ "$what" = "test" ]; then
  for pkg in mariadb-server redis-server chromium fonts-noto-cjk; do have_pkg "$pkg" || need+=("$pkg"); done
fi
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing system packages: ${need[*]} (install them with your package manager)." >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
