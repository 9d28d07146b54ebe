"""The Debian tools that check deploy/, found or refused with the way to get them.

``scripts/deploy-tools.sh`` installs them (``make deploy-tools``, which ``make test`` runs).
Outside CI a missing tool skips its tests with that reason; in CI (``CI=true``) it fails them,
as the PostgreSQL tests do.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
#: The Python environment's own tools (requirements-dev.lock): hadolint, check-jsonschema.
BIN = Path(sys.executable).parent


def tool(name: str, *, debian: str | None = None) -> str:
    """The path of ``name`` (a Debian tool when ``debian`` names its package, else one of the
    environment's), or the test skips (fails in CI) saying how to install it."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if debian is None:
        candidate = BIN / name
        found = str(candidate) if candidate.exists() else None
    if found is None:
        how = (
            f"Debian's {debian}: run make deploy-tools (scripts/deploy-tools.sh)"
            if debian
            else "requirements-dev.lock: run make venv"
        )
        reason = f"{name} is not installed ({how})"
        if IN_CI:
            pytest.fail(reason + "; CI must run the deployment checks", pytrace=False)
        pytest.skip(reason)
    return found


def run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """A check's command, its output as text (never raises on a non-zero exit)."""
    return subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
