"""Each server builds its egress client from the deployment's settings.

The egress tests prove what a share limit does; these prove that the number a deployment sets
(``WEBHOOKS_TENANT_CALLS``) is the one each server's client enforces, so a constant slipped in
where a server builds its client cannot pass unseen.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import actions
import admin
import mcp_server
from webhooks import Keyring, Settings, Store, generate_key, make_engine, migrate


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
