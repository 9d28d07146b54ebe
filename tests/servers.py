"""Our programs as real processes for a test: a server until it answers, a command line run,
and what the store counted for a conversation."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.admin.conftest import free_port
from tests.conftest import base_env

ROOT = Path(__file__).resolve().parents[1]


def start_server(
    module: str,
    env: dict[str, str],
    log_path: Path,
    *,
    health: str = "/health",
    args: Sequence[str] = (),
    cwd: Path = ROOT,
) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m MODULE serve ARGS`` on a free port with ``env``, from ``cwd`` (the
    repository's code unless another tree is given); the process and its base URL once
    ``health`` answers 200 (the test fails with the log if it exits or never does)."""
    port = free_port()
    with log_path.open("a") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, "serve", "--port", str(port), *args],
            cwd=cwd,
            env={**base_env(), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"{module} server exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(base_url + health, timeout=1).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{module} server did not start:\n{log_path.read_text()}")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def run_cli(module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS`` with ``env`` (and PATH) only; its output as text."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={**base_env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def calls_counted(engine: Engine, sender: str) -> int:
    """The webhook calls the store counted for ``sender``'s conversation (0 before its first)."""
    with engine.connect() as connection:
        calls = connection.execute(
            text("SELECT calls FROM conversation_calls WHERE conversation LIKE :sender"),
            {"sender": f"{sender}:%"},
        ).scalar_one_or_none()
    return int(calls or 0)
