"""Training with the bot runtime (``.venv-bot``), cached by a fingerprint of the bot's files.

The fingerprint is the SHA-256 of ``config.yml`` and every file under ``domain/`` and ``data/``
(relative path and bytes, in path order). The model is ``models/<fingerprint>.tar.gz``; when it
exists the bot is unchanged and nothing is trained.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ._project import Project

__all__ = ["DEFAULT_RASA", "Training", "TrainingFailed", "fingerprint", "train"]

#: The Rasa 3.6 executable of the bot runtime (relative paths are taken from the current
#: directory).
DEFAULT_RASA = Path(".venv-bot/bin/rasa")
#: The checkout holding this package and ``routing/``, the live router Rasa loads.
PLUGIN_ROOT = Path(__file__).resolve().parents[1]


class TrainingFailed(Exception):
    """``rasa train`` failed or is missing; the message says how."""


@dataclass(frozen=True, slots=True)
class Training:
    """The model for the current files, and whether it was trained now or reused."""

    model: Path
    fingerprint: str
    reused: bool
    seconds: float


def _files(project: Project) -> Iterator[Path]:
    if project.config.is_file():
        yield project.config
    for directory in (project.domain_dir, project.data_dir):
        if directory.is_dir():
            yield from sorted(p for p in directory.rglob("*") if p.is_file())


#: The live router's code that decides what it keeps from training (in the model).
ROUTER_TRAINING = (PLUGIN_ROOT / "routing" / "component.py",)


def fingerprint(project: Project) -> str:
    """SHA-256 over config.yml, domain/ and data/ (their relative paths and contents), and the
    live router's training code."""
    digest = hashlib.sha256()
    files = [(path.relative_to(project.root).as_posix(), path) for path in _files(project)]
    files += [(f"routing/{path.name}", path) for path in ROUTER_TRAINING if path.is_file()]
    for relative, path in sorted(files):
        name = relative.encode()
        content = path.read_bytes()
        # Lengths first, so no two different sets of files hash the same.
        digest.update(b"%d:%s%d:" % (len(name), name, len(content)))
        digest.update(content)
    return digest.hexdigest()


Runner = Callable[..., "subprocess.CompletedProcess[bytes]"]


def train(
    project: Project,
    *,
    rasa: Path = DEFAULT_RASA,
    force: bool = False,
    run: Runner = subprocess.run,
) -> Training:
    """The model for the project's current files: reused if it exists, else trained now."""
    started = time.monotonic()
    key = fingerprint(project)
    model = project.models_dir / f"{key}.tar.gz"
    if model.is_file() and not force:
        return Training(model=model, fingerprint=key, reused=True, seconds=0.0)
    executable = rasa if rasa.is_absolute() else Path.cwd() / rasa
    if not executable.is_file():
        raise TrainingFailed(f"{executable} not found; `make venv-bot` builds the bot runtime")
    command = [
        str(executable),
        "train",
        "--config", "config.yml",
        "--domain", "domain",
        "--data", "data",
        "--out", "models",
        "--fixed-model-name", key,
    ]  # fmt: skip
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}
    # The live router (routing.component.LiveRouter in config.yml) ships beside this package,
    # wherever the project itself is.
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, (str(PLUGIN_ROOT), environment.get("PYTHONPATH")))
    )
    completed = run(command, cwd=project.root, env=environment, check=False)
    if completed.returncode != 0 or not model.is_file():
        raise TrainingFailed(f"rasa train failed (exit {completed.returncode})")
    return Training(model=model, fingerprint=key, reused=False, seconds=time.monotonic() - started)
