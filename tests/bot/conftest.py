"""A store with a few definitions and a Rasa project on disk, made from the demo assistant's
designer files (config with fewer epochs, so a test training stays short)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI
from webhooks import Settings, Store, open_store

ROOT = Path(__file__).resolve().parents[2]
RASA = ROOT / ".venv-bot" / "bin" / "rasa"

DEFINITIONS: list[dict[str, Any]] = [
    {
        "name": "order_status",
        "description": "Look up the status of an order",
        "url": "https://api.example.com/orders",
        "parameters": [
            {"name": "order_id", "type": "integer", "description": "The order number"},
            {
                "name": "include_history",
                "type": "boolean",
                "description": "whether to list every step so far",
                "required": False,
            },
        ],
    },
    {
        "name": "store_hours",
        "description": "Opening hours of a store. Uses the store API.",
        "url": "https://api.example.com/hours",
        "method": "GET",
        "parameters": [
            {"name": "city", "type": "string", "description": "the city, e.g. Berlin or Paris"},
            {
                "name": "radius_km",
                "type": "number",
                "description": "how far to look",
                "required": False,
            },
        ],
    },
    {
        "name": "delivery_quote",
        "description": "Quote a delivery price",
        "url": "https://api.example.com/quote",
        "parameters": [
            {"name": "city", "type": "string", "description": "Where should it go?"},
            {"name": "weight", "type": "number", "description": "the weight in kg"},
        ],
    },
    {
        "name": "daily_offers",
        "description": "List today's offers",
        "url": "https://api.example.com/offers",
        "method": "GET",
    },
]


def require_rasa() -> Path:
    """The bot runtime's rasa: skipped with the reason when missing, failed in CI."""
    if not RASA.is_file():
        reason = f"{RASA} is missing (`make venv-bot` builds the bot runtime)"
        if IN_CI:
            pytest.fail(reason + "; CI must run the Rasa tests", pytrace=False)
        pytest.skip(reason)
    return RASA


def environ_for(directory: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{directory / 'webhooks.db'}",
        "WEBHOOKS_KEY_FILE": str(directory / "webhooks.key"),
    }


def open_test_store(directory: Path) -> Store:
    return open_store(Settings.from_environ(environ_for(directory)), create_key=True, upgrade=True)


def add_tenant(store: Store, name: str, definitions: list[dict[str, Any]]) -> None:
    store.accounts.create_tenant(name, actor="test")
    store.accounts.set_skill(name, True, actor="test")
    for definition in definitions:
        store.catalog.create(name, definition, actor="test")


def make_project(directory: Path) -> Path:
    """The demo assistant's designer files (no generated ones) in ``directory``."""
    (directory / "domain").mkdir(parents=True)
    (directory / "data").mkdir()
    shutil.copy(ROOT / "domain" / "demo.yml", directory / "domain" / "demo.yml")
    for name in ("nlu.yml", "rules.yml"):
        shutil.copy(ROOT / "data" / name, directory / "data" / name)
    config = (ROOT / "config.yml").read_text().replace("epochs: 60", "epochs: 5")
    (directory / "config.yml").write_text(config)
    return directory


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(store_dir: Path) -> Iterator[Store]:
    store_dir.mkdir()
    store = open_test_store(store_dir)
    add_tenant(store, "acme", DEFINITIONS)
    return store


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "bot")


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, store_dir: Path) -> None:
    """The environment the CLI reads, pointing at ``store``'s database and key."""
    for name, value in environ_for(store_dir).items():
        monkeypatch.setenv(name, value)
