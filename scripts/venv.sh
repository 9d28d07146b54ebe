#!/usr/bin/env bash
# Make (or reuse) a virtual environment for lock files and link it into the checkout.
#
#   scripts/venv.sh LINK PYTHON LOCKFILE [LOCKFILE ...]
#
# The environment lives in a cache outside the checkout, keyed by the lock file's hash and the
# interpreter's version, so a fresh clone on a warm machine links it in seconds instead of
# reinstalling. A half-built environment (no .complete marker) is thrown away and rebuilt.
set -euo pipefail

link=$1 python=$2
shift 2
locks=("$@")
cache=${WEBHOOKS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/webhook-actions}

if ! command -v "$python" >/dev/null 2>&1; then
    echo "venv.sh: $python not found on PATH" >&2
    exit 1
fi
pyver=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
key=$( (cat "${locks[@]}"; echo "$pyver") | sha256sum | cut -c1-16)
target="$cache/${link#.}-$key"

if [ ! -f "$target/.complete" ]; then
    echo "venv.sh: building $target (python $pyver, ${locks[*]})" >&2
    rm -rf "$target"
    mkdir -p "$cache"
    "$python" -m venv "$target"
    "$target/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    # Every lock pins every package with its hash: installed exactly, pip checks every file.
    requirements=(--require-hashes --no-deps)
    for lock in "${locks[@]}"; do requirements+=(-r "$lock"); done
    "$target/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
    touch "$target/.complete"
fi

if [ "$(readlink "$link" 2>/dev/null)" != "$target" ]; then
    rm -rf "$link"
    ln -s "$target" "$link"
fi
