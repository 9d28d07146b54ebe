"""Each server builds its egress client from the deployment's settings.

The egress tests prove what a share limit and an allowance do; these prove that the number a
deployment sets (``WEBHOOKS_TENANT_CALLS``) and its egress rules (``WEBHOOKS_EGRESS_ALLOW``) are
the ones each server's client and the store enforce, so a constant slipped in where a server
builds its client cannot pass unseen.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import actions
import admin
import mcp_server
from webhooks import (
    EgressRules,
    Keyring,
    Settings,
    Store,
    generate_key,
    make_engine,
    migrate,
    open_store,
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    engine = make_engine(f"sqlite:///{tmp_path / 'wiring.db'}")
    migrate(engine)
    return Store(engine, Keyring([generate_key()]))


def _settings(tenant_calls: str) -> Settings:
    return Settings.from_environ({"WEBHOOKS_TENANT_CALLS": tenant_calls, "WEBHOOKS_KEYS": ""})


@pytest.mark.parametrize("tenant_calls", ["3", "1000"])
def test_the_action_server_takes_its_share_from_the_settings(
    store: Store, tenant_calls: str
) -> None:
    server = actions.build(_settings(tenant_calls), store)
    assert server.egress.share_limit == int(tenant_calls)


@pytest.mark.parametrize("tenant_calls", ["3", "1000"])
def test_the_tools_server_takes_its_share_from_the_settings(
    store: Store, tenant_calls: str
) -> None:
    server = mcp_server.build(_settings(tenant_calls), store)
    assert server.egress.share_limit == int(tenant_calls)


@pytest.mark.parametrize("tenant_calls", ["3", "1000"])
def test_the_admin_test_call_takes_its_share_from_the_settings(tenant_calls: str) -> None:
    assert admin.Tester(_settings(tenant_calls)).egress.share_limit == int(tenant_calls)


def test_every_server_and_the_store_take_the_egress_rules_from_the_settings(
    store: Store, tmp_path: Path
) -> None:
    settings = Settings.from_environ(
        {
            "WEBHOOKS_EGRESS_ALLOW": "127.0.0.1/32",
            "WEBHOOKS_KEYS": generate_key(),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'rules.db'}",
        }
    )
    assert settings.egress_rules == EgressRules.allowing("127.0.0.1/32")
    clients = {
        "actions": actions.build(settings, store).egress,
        "mcp_server": mcp_server.build(settings, store).egress,
        "admin": admin.Tester(settings).egress,
    }
    for where, egress in clients.items():
        assert egress.rules is settings.egress_rules, where
    opened = open_store(settings, upgrade=True)
    try:
        assert opened.rules is settings.egress_rules
    finally:
        opened.engine.dispose()
