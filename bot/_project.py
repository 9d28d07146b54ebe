"""A Rasa project on disk: where the designer's files are and where the generated ones go.

Rasa 3.6 reads a domain *directory* (``--domain domain``) and merges every YAML file in it, so
the generated entries live in ``domain/webhooks.generated.yml`` next to the designer's files.
Generated files are recognised by the ``.generated.`` in their names and never read as the
designer's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._documents import read

__all__ = ["DesignerDomain", "Project"]

GENERATED_MARK = ".generated."


@dataclass(frozen=True, slots=True)
class Project:
    """The paths of a Rasa project rooted at ``root``."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yml"

    @property
    def domain_dir(self) -> Path:
        return self.root / "domain"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def generated_domain(self) -> Path:
        return self.domain_dir / "webhooks.generated.yml"

    @property
    def generated_rules(self) -> Path:
        return self.data_dir / "webhooks.generated.rules.yml"

    @property
    def generated_nlu(self) -> Path:
        return self.data_dir / "webhooks.generated.nlu.yml"

    def designer_domain_files(self) -> Iterator[Path]:
        """The designer's domain files: every YAML file under ``domain/`` not generated."""
        if not self.domain_dir.is_dir():
            return
        for path in sorted(self.domain_dir.rglob("*")):
            if path.suffix in {".yml", ".yaml"} and GENERATED_MARK not in path.name:
                yield path

    def designer_domain(self) -> DesignerDomain:
        """What the designer's own domain files declare."""
        return DesignerDomain.merge(read(path) for path in self.designer_domain_files())


def _names(section: object) -> set[str]:
    """Names in a domain section: a list of names or one-key dicts, or a mapping."""
    if isinstance(section, Mapping):
        return {str(key) for key in section}
    names: set[str] = set()
    if isinstance(section, list):
        for item in section:
            if isinstance(item, str):
                names.add(item)
            elif isinstance(item, Mapping):
                names.update(str(key) for key in item)
    return names


@dataclass(frozen=True, slots=True)
class DesignerDomain:
    """The names the designer's domain files already define (the generator leaves them be)."""

    intents: frozenset[str] = frozenset()
    slots: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()
    responses: frozenset[str] = frozenset()

    @classmethod
    def merge(cls, documents: Iterator[Any]) -> DesignerDomain:
        sets: dict[str, set[str]] = {"intents": set(), "slots": set(), "actions": set()}
        responses: set[str] = set()
        for document in documents:
            if not isinstance(document, Mapping):
                continue
            for key, names in sets.items():
                names.update(_names(document.get(key)))
            responses.update(_names(document.get("responses")))
        return cls(
            intents=frozenset(sets["intents"]),
            slots=frozenset(sets["slots"]),
            actions=frozenset(sets["actions"]),
            responses=frozenset(responses),
        )
