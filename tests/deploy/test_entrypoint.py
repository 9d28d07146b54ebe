"""The image's entrypoint without the image: the server a container runs is found from the
processes' command lines as the entrypoint itself starts them (``python -m MODULE serve``), so
``webhook-actions healthcheck`` asks the right server. tests/image runs the real containers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.servers import ROOT


def _entrypoint() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "webhook_actions_entrypoint", ROOT / "deploy/image/entrypoint.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


ENTRYPOINT = _entrypoint()
ANY = "::"  # a container's wildcard address, as the entrypoint passes it


def _proc(tmp_path: Path, *argvs: list[str]) -> Path:
    """A /proc with one process per command line (and a file that is no process)."""
    (tmp_path / "self").mkdir()
    for pid, argv in enumerate(argvs, start=1):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cmdline").write_bytes("\0".join(argv).encode() + b"\0")
    return tmp_path


@pytest.mark.parametrize("role", sorted(ENTRYPOINT.SERVERS))
def test_the_server_each_role_starts_is_found(tmp_path: Path, role: str) -> None:
    server = ENTRYPOINT.SERVERS[role]
    # What the entrypoint execs for the role (its _serve), beside an unrelated process.
    argv = [sys.executable, "-m", server.module, "serve", "--host", ANY, "--port", "6001"]
    proc = _proc(tmp_path, ["/bin/sh", "-c", "sleep 1"], argv)
    assert ENTRYPOINT._running(proc) == (server, ANY, "6001")


def test_no_server_is_found_where_none_runs(tmp_path: Path) -> None:
    proc = _proc(tmp_path, [sys.executable, "-m", "tools", "serve"], ["/bin/sh"])
    assert ENTRYPOINT._running(proc) is None
