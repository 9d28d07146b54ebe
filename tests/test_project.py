"""Promises about the project itself: curated exports, layering, documented configuration."""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

from webhooks import VARIABLES

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package", ["webhooks", "admin"])
def test_exported_members_are_exactly_the_public_names(package: str) -> None:
    module = importlib.import_module(package)
    exported = set(module.__all__)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in {"annotations"}
    }
    assert exported == public
    assert list(module.__all__) == sorted(module.__all__, key=lambda n: (not n.isupper(), n))


def test_the_core_imports_no_adapter() -> None:
    for path in (ROOT / "webhooks").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in {"actions", "admin", "bot", "sanic", "rasa_sdk"}, (
                    f"{path.relative_to(ROOT)} imports {name}"
                )


def test_adapters_import_only_the_core_public_names() -> None:
    for path in (ROOT / "admin").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                assert not node.module.startswith("webhooks."), (
                    f"{path.relative_to(ROOT)} imports {node.module}"
                )


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in VARIABLES:
        assert f"| `{name}` |" in readme, name


def test_readme_shows_the_two_commands_first() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:12])
    assert "make run" in first_screen
    assert "make test" in first_screen
