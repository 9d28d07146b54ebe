"""Promises about the project itself: curated exports, layering, documented configuration."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import tomllib
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import webhooks
import webhooks._exceptions
from webhooks import VERSION
from webhooks._settings import VARIABLES

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


#: What the core never imports: the adapters and their frameworks.
NOT_IN_THE_CORE = {"actions", "admin", "bot", "mcp_server", "sanic", "rasa_sdk", "mcp", "starlette"}


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
                assert name.split(".")[0] not in NOT_IN_THE_CORE, (
                    f"{path.relative_to(ROOT)} imports {name}"
                )


ADAPTERS = ("actions", "admin", "bot", "demo", "bench", "web", "mcp_server")
#: Everything outside the core that may use it: the adapters, the channels Rasa runs, and the
#: scripts and deployment files that drive them (Python embedded in a shell script included).
CORE_USERS = (*ADAPTERS, "channels", "deploy", "scripts")
#: The core's parts, in order: each may use those before it, never one after.
PARTS = ("egress", "definitions", "store", "calls")
#: What every part may use at the core's top: the one error tree.
SHARED = {"_exceptions", "_categories"}


def _sources(root: Path, package: str) -> Iterator[tuple[str, ast.Module]]:
    """Each Python source under ``root / package`` (its path, its tree): the ``.py`` files, and
    the lines of shell scripts that import from the core (``scripts/run.sh``'s heredoc)."""
    for path in sorted((root / package).rglob("*.py")):
        where = str(path.relative_to(root))
        yield where, ast.parse(path.read_text(), filename=where)
    for path in sorted((root / package).rglob("*.sh")):
        where = str(path.relative_to(root))
        yield where, ast.parse(_core_imports_in(path.read_text()), filename=where)


def _core_imports_in(script: str) -> str:
    """The import statements naming ``webhooks`` in a script, as Python."""
    lines: list[str] = []
    open_paren = False
    for line in script.splitlines():
        stripped = line.strip()
        if open_paren or stripped.startswith(("from webhooks", "import webhooks")):
            lines.append(stripped)
            open_paren = (open_paren or stripped.endswith("(")) and not stripped.endswith(")")
    return "\n".join(lines)


def _bound_to_the_core(tree: ast.Module) -> set[str]:
    """The names ``import webhooks`` (``as x``) binds in a module."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "webhooks"
    }


def boundary_breaches(root: Path) -> list[str]:
    """Where a user of the core under ``root`` reaches past its public names: a core module or
    part imported in any form (``from webhooks._x import``, ``from webhooks.store._x import``,
    ``from webhooks import _x``, ``from webhooks import store``, ``import webhooks._x``, or
    ``webhooks.store`` after ``import webhooks``), or an adapter another adapter."""
    breaches: list[str] = []
    for package in CORE_USERS:
        others = set(ADAPTERS) - {package} if package in ADAPTERS else set()
        for where, tree in _sources(root, package):
            bound = _bound_to_the_core(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    top = node.module.split(".")[0]
                    if node.module.startswith("webhooks."):
                        breaches.append(f"{where}: from {node.module} import")
                    elif node.module == "webhooks":
                        breaches += [
                            f"{where}: from webhooks import {alias.name}"
                            for alias in node.names
                            if alias.name.startswith("_") or alias.name in PARTS
                        ]
                    elif top in others:
                        breaches.append(f"{where}: from {node.module} import")
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        top = alias.name.split(".")[0]
                        if alias.name.startswith("webhooks.") or top in others:
                            breaches.append(f"{where}: import {alias.name}")
                elif (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id in bound
                    and (node.attr.startswith("_") or node.attr in PARTS)
                ):
                    breaches.append(f"{where}: {node.value.id}.{node.attr}")
    return breaches


def test_adapters_import_only_the_core_public_names() -> None:
    assert boundary_breaches(ROOT) == []


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("from webhooks._egress import Egress", "from webhooks._egress import"),
        ("from webhooks.egress._egress import Egress", "from webhooks.egress._egress import"),
        ("from webhooks import _schema as db", "from webhooks import _schema"),
        ("from webhooks import store", "from webhooks import store"),
        ("import webhooks.calls._limits", "import webhooks.calls._limits"),
        ("import webhooks\nwebhooks.store._store.Store", "webhooks.store"),
        ("import webhooks as w\nw._settings.VARIABLES", "w._settings"),
        ("from webhooks.store.migrations import env", "from webhooks.store.migrations import"),
        ("from admin import create_app", "from admin import"),
    ],
)
def test_the_boundary_test_catches_a_planted_import(tmp_path: Path, line: str, said: str) -> None:
    for package in ADAPTERS:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "bot" / "planted.py").write_text(f"{line}\n")
    assert boundary_breaches(tmp_path) == [f"bot/planted.py: {said}"]


def test_the_boundary_test_reads_the_python_in_scripts(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "run.sh").write_text(
        "py - <<'PY'\nfrom webhooks.store._store import Store\nPY\n"
    )
    assert boundary_breaches(tmp_path) == ["scripts/run.sh: from webhooks.store._store import"]


def core_names_used(root: Path) -> dict[str, list[str]]:
    """Each name the core's users under ``root`` take from ``webhooks`` (``from webhooks import
    X``, or ``webhooks.X`` after ``import webhooks``), with where."""
    used: dict[str, list[str]] = {}
    for package in CORE_USERS:
        for where, tree in _sources(root, package):
            bound = _bound_to_the_core(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level == 0:
                    if node.module == "webhooks":
                        for alias in node.names:
                            used.setdefault(alias.name, []).append(where)
                elif (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id in bound
                ):
                    used.setdefault(node.attr, []).append(where)
    return used


def error_tree() -> set[str]:
    """The names of every exception the core defines (``webhooks/_exceptions.py``)."""
    return {
        name
        for name, value in vars(webhooks._exceptions).items()
        if isinstance(value, type) and issubclass(value, webhooks.WebhookError)
    }


def test_the_core_exports_exactly_what_its_users_use_and_its_errors() -> None:
    """The public API is no larger than what the adapters use: a name only tests use is imported
    by them from its module (``webhooks.egress._redaction.MASK``). Errors stay public, all of
    them, so that a caller can catch any of them (as httpx's)."""
    exported = set(webhooks.__all__)
    used = set(core_names_used(ROOT))
    assert exported - used - error_tree() == set(), "exported, but no user of the core uses it"
    assert error_tree() <= exported, "the whole error tree is public"
    assert used <= exported, "used, but not exported"


def test_the_export_test_sees_every_way_to_use_the_core(tmp_path: Path) -> None:
    (tmp_path / "actions").mkdir()
    (tmp_path / "actions" / "a.py").write_text(
        "from webhooks import Store, open_store\nimport webhooks as w\nw.Egress\nother.Registry\n"
    )
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "run.sh").write_text(
        "py - <<'PY'\nfrom webhooks import (\n    Settings,\n    migrate,\n)\nPY\n"
    )
    assert set(core_names_used(tmp_path)) == {
        "Store",
        "open_store",
        "Egress",
        "Settings",
        "migrate",
    }


def layering_breaches(root: Path) -> list[str]:
    """Where a module of the core under ``root`` uses a part after its own (or, at the top, where
    the error tree uses anything but itself): each import resolved to ``webhooks.<part>`` or a
    top module."""
    breaches: list[str] = []
    core = root / "webhooks"
    for path in sorted(core.rglob("*.py")):
        inside = path.relative_to(core).parts
        part = inside[0] if len(inside) > 1 else None
        package = ["webhooks", *inside[:-1]]
        if part is None and path.stem not in SHARED:
            continue  # the public API, the command line and the servers' shared pieces
        may_use = set(PARTS[: PARTS.index(part) + 1]) | SHARED if part else SHARED
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "webhooks":
                module = node.module.split(".")
            else:
                continue
            targets = (
                [[*module, alias.name] for alias in node.names] if len(module) < 3 else [module]
            )
            for target in targets:
                if len(target) > 1 and target[1] not in may_use:
                    breaches.append(f"{path.relative_to(root)} uses {'.'.join(target[:2])}")
    return breaches


def test_each_part_of_the_core_uses_only_the_parts_before_it() -> None:
    assert layering_breaches(ROOT) == []


@pytest.mark.parametrize(
    ("where", "line", "said"),
    [
        ("egress/_x.py", "from ..store._store import Store", "webhooks.store"),
        ("definitions/_x.py", "from ..calls import _tools", "webhooks.calls"),
        ("store/migrations/env.py", "from webhooks.calls._limits import X", "webhooks.calls"),
        ("store/_x.py", "from .._settings import Settings", "webhooks._settings"),
        ("_exceptions.py", "from .egress._urls import check_url", "webhooks.egress"),
        ("calls/_x.py", "from ..store import _schema as db", None),
        ("store/_x.py", "from .._exceptions import NotFound", None),
        ("definitions/_x.py", "from ..egress._messages import HEADER_NAME", None),
        ("store/migrations/env.py", "from webhooks.store._schema import Base", None),
        ("_settings.py", "from .egress._rules import EgressRules", None),
    ],
)
def test_the_layering_test_catches_a_planted_import(
    tmp_path: Path, where: str, line: str, said: str | None
) -> None:
    planted = tmp_path / "webhooks" / where
    planted.parent.mkdir(parents=True)
    planted.write_text(f"{line}\n")
    expected = [] if said is None else [f"webhooks/{where} uses {said}"]
    assert layering_breaches(tmp_path) == expected


@pytest.mark.parametrize("package", ADAPTERS)
def test_every_adapter_package_says_what_it_exports(package: str) -> None:
    assert isinstance(importlib.import_module(package).__all__, list)


def test_the_configuration_table_documents_every_setting() -> None:
    table = (ROOT / "docs" / "operators.md").read_text().split("## Configuration", 1)[1]
    for name in VARIABLES:
        assert f"| `{name}` |" in table, name


def test_the_failure_table_says_every_category_and_its_sentence() -> None:
    page = (ROOT / "docs" / "operators.md").read_text()
    for category in webhooks.Category:
        row = f"| `{category.value}` | {category.meaning} | {category.sentence} |"
        assert row in page, category.value


def test_the_version_is_the_one_in_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == VERSION


def test_readme_shows_the_two_commands_first() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:12])
    assert "make run" in first_screen
    assert "make test" in first_screen


def _tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name]


def _manual() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


#: A Markdown link or image: its target, up to a space (a title) or the closing parenthesis.
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _anchors(page: Path) -> set[str]:
    """The anchors of ``page``'s headings, as GitHub makes them: lower case, punctuation other
    than hyphens and underscores dropped, spaces made hyphens; a repeated one gets ``-1``, ...
    (headings inside code blocks are not headings)."""
    anchors: set[str] = set()
    fenced = False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (heading := re.match(r"#{1,6} (.+)", line)):
            text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1).strip())
            slug = re.sub(r"[^\w\- ]", "", text.lower().replace("`", "")).replace(" ", "-")
            candidate, n = slug, 0
            while candidate in anchors:
                n += 1
                candidate = f"{slug}-{n}"
            anchors.add(candidate)
    return anchors


def broken_links(pages: list[Path], root: Path) -> list[str]:
    """Relative links in ``pages`` whose file does not exist under ``root``, or whose anchor is
    no heading of the Markdown page it names; links outside code blocks only."""
    broken: list[str] = []
    for page in pages:
        prose = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.M | re.S)
        prose = re.sub(r"`[^`\n]*`", "", prose)
        for target in _LINK.findall(prose):
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...
                continue
            path, _, anchor = target.partition("#")
            where = (page.parent / path).resolve() if path else page
            inside = where.is_relative_to(root.resolve()) and where.exists()
            anchored = not anchor or where.suffix != ".md" or anchor in _anchors(where)
            if not (inside and anchored):
                broken.append(f"{page.relative_to(root)}: {target}")
    return broken


def test_every_relative_link_of_the_manual_points_into_the_repository() -> None:
    assert broken_links(_manual(), ROOT) == []


def test_the_link_check_catches_a_missing_file_an_anchor_and_a_way_out(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## Its `first` part\n")
    (tmp_path / "README.md").write_text(
        "[ok](docs/a.md) [ok](docs/a.md#its-first-part) [ok](#top) [ok](https://example.com)\n"
        "# Top\n"
        "[gone](docs/b.md) [no anchor](docs/a.md#nowhere) [out](../outside/DESIGN.md)\n"
        "`[in code](docs/c.md)`\n"
    )
    pages = [tmp_path / "README.md", tmp_path / "docs" / "a.md"]
    assert broken_links(pages, tmp_path) == [
        "README.md: docs/b.md",
        "README.md: docs/a.md#nowhere",
        "README.md: ../outside/DESIGN.md",
    ]


def test_no_file_points_outside_the_repository() -> None:
    # The project is read on its own: nothing may send a reader to a sibling checkout.
    pointing = []
    for path in _tracked_files():
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary
            continue
        if b"../" + b"shared" in data:
            pointing.append(str(path.relative_to(ROOT)))
    assert pointing == []


#: What the live router may import: it runs inside Rasa (Python 3.10, Rasa's own packages).
ROUTER_IMPORTS = {
    "__future__", "asyncio", "collections", "contextlib", "dataclasses", "gc", "hashlib",
    "importlib", "itertools", "json", "logging", "os", "re", "sys", "tarfile", "threading", "time",
    "typing", "urllib", "weakref", "pathlib", "numpy", "rasa", "safetensors", "scipy",
    "threadpoolctl", "tokenizers", "yaml", "jsonschema", "aiohttp",
}  # fmt: skip


def test_the_live_router_runs_inside_rasa_without_the_plugin() -> None:
    for path in sorted((ROOT / "routing").rglob("*.py")):
        source = path.read_text()
        # Rasa 3.6 supports Python 3.10 at most: nothing newer may be used.
        tree = ast.parse(source, filename=str(path), feature_version=(3, 10))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in ROUTER_IMPORTS, f"{path.name} imports {name}"
        assert "datetime import UTC" not in source
