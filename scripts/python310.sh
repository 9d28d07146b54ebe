#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter for the bot runtime (Rasa 3.6.21 needs Python <= 3.10).
#
#   scripts/python310.sh        -> e.g. /root/.pyenv/versions/3.10.13/bin/python3.10
#
# Order: `python3.10` on PATH if it really runs and is 3.10.x, else pyenv's 3.10.13. It prints the
# interpreter's real path (sys.executable), so a pyenv shim that only works with PYENV_VERSION set
# is never handed on. Fails with a clear message when neither is available.
set -euo pipefail

real310() {
    # Print sys.executable of $1 if it runs and is Python 3.10.x; fail otherwise.
    "$1" -c 'import sys; assert sys.version_info[:2] == (3, 10); print(sys.executable)' 2>/dev/null
}

if candidate=$(command -v python3.10 2>/dev/null) && real310 "$candidate"; then
    exit 0
fi

if command -v pyenv >/dev/null 2>&1; then
    if prefix=$(pyenv prefix 3.10.13 2>/dev/null) && real310 "$prefix/bin/python3.10"; then
        exit 0
    fi
    echo "python310.sh: pyenv is installed but has no Python 3.10.13; run: pyenv install 3.10.13" >&2
    exit 1
fi

echo "python310.sh: no Python 3.10 found. The bot runtime (rasa==3.6.21) needs Python 3.10:" \
    "install python3.10 on PATH (e.g. apt-get install python3.10-venv) or pyenv install 3.10.13" >&2
exit 1
