"""A trained Rasa 3.6 model: a ``.tar.gz`` whose ``metadata.json`` holds the domain.

Measured on a real ``rasa train`` (3.6.21): the archive has ``metadata.json`` at its root with
the keys ``domain`` (``Domain.as_dict()``: intents, entities, slots, forms, actions, responses),
``model_id``, ``trained_at``, ``rasa_open_source_version`` and more, next to ``components/``
(where ``components/domain_provider/domain.yml`` repeats the domain).
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Model", "ModelError", "newest_model"]

METADATA = "metadata.json"


class ModelError(Exception):
    """No model, or a file that is not a readable Rasa model."""


def newest_model(where: Path) -> Path:
    """``where`` itself if it is a file, else its newest ``*.tar.gz`` (by modification time)."""
    if where.is_file():
        return where
    models = sorted(where.glob("*.tar.gz"), key=lambda p: (p.stat().st_mtime, p.name))
    if not models:
        raise ModelError(f"no trained model (*.tar.gz) in {where}; run `python -m bot train`")
    return models[-1]


@dataclass(frozen=True, slots=True)
class Model:
    """What a model archive says about itself."""

    path: Path
    model_id: str
    domain: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> Model:
        try:
            with tarfile.open(path, "r:gz") as archive:
                for member in archive:
                    if member.isfile() and member.name.lstrip("./") == METADATA:
                        stream = archive.extractfile(member)
                        if stream is None:  # pragma: no cover - isfile() said it is one
                            break
                        metadata = json.load(stream)
                        break
                else:
                    raise ModelError(f"{path}: no {METADATA}; is this a Rasa 3 model?")
        except (OSError, tarfile.TarError, ValueError) as exc:
            raise ModelError(f"{path}: not a readable model ({type(exc).__name__})") from exc
        domain = metadata.get("domain") if isinstance(metadata, dict) else None
        if not isinstance(domain, dict):
            raise ModelError(f"{path}: {METADATA} has no domain")
        return cls(path=path, model_id=str(metadata.get("model_id", "")), domain=domain)
