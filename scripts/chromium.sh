#!/usr/bin/env bash
# Make sure Debian's chromium is installed: the console's tests drive it headless (Playwright
# launches this executable; it never downloads a browser of its own).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
echo "chromium.sh: installing Debian's chromium for the browser tests" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium
