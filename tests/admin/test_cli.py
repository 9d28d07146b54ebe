"""The admin command line, run in the test's process (its ``main``) against a SQLite store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from admin.__main__ import COMMANDS, main
from tests.admin.conftest import Ran, RunMain
from webhooks import (
    GENERATE_KEY_COMMAND,
    MIGRATE_COMMAND,
    Keyring,
    Store,
    generate_key,
    make_engine,
    token_matches,
)


class Cli:
    def __init__(self, tmp: Path, run_main: RunMain) -> None:
        self.database_url = f"sqlite:///{tmp / 'cli.db'}"
        self.key = generate_key()
        self._run_main = run_main

    def run(self, *args: str, keys: str | None = None) -> Ran:
        env = {"DATABASE_URL": self.database_url, "WEBHOOKS_KEYS": keys or self.key}
        return self._run_main("admin", *args, env=env)

    def json(self, *args: str, keys: str | None = None) -> Any:
        result = self.run("--json", *args, keys=keys)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def store(self, key: str | None = None) -> Store:
        return Store(make_engine(self.database_url), Keyring([key or self.key]))


@pytest.fixture
def cli(tmp_path: Path, run_main: RunMain) -> Cli:
    cli = Cli(tmp_path, run_main)
    assert cli.run("migrate").returncode == 0
    return cli


def test_tenant_setup_from_scratch(cli: Cli) -> None:
    assert cli.json("tenant", "create", "acme") == {"tenant": "acme", "skill_enabled": False}
    admin = cli.json("operator", "create", "acme", "root", "--admin")
    assert admin["permissions"] == []
    assert cli.json("skill", "enable", "acme")["skill_enabled"] is True
    viewer = cli.json("operator", "create", "acme", "viewer", "--permission", "webhooks:read")
    store = cli.store()
    assert store.accounts.authenticate(admin["token"]).permissions == {
        "webhooks:read",
        "webhooks:manage",
    }
    assert store.accounts.authenticate(viewer["token"]).permissions == {"webhooks:read"}
    listed = cli.json("operator", "list", "acme")
    assert [o["name"] for o in listed] == ["root", "viewer"]
    assert "token" not in json.dumps(listed)
    assert cli.json("tenant", "list") == [{"tenant": "acme", "skill_enabled": True}]


def test_the_tenants_budget_is_shown_and_set(cli: Cli) -> None:
    cli.json("tenant", "create", "acme")
    assert cli.json("budget", "acme") == {"tenant": "acme", "calls_per_minute": 600}
    assert cli.json("budget", "acme", "120") == {"tenant": "acme", "calls_per_minute": 120}
    assert cli.store().accounts.get_tenant("acme").calls_per_minute == 120
    assert cli.store().audit("acme")[0].action == "budget.set"


def test_tokens_are_printed_once_and_can_be_revoked(cli: Cli) -> None:
    cli.json("tenant", "create", "acme")
    created = cli.json("operator", "create", "acme", "bot")
    extra = cli.json("token", "issue", "acme", str(created["id"]))["token"]
    assert cli.json("token", "revoke", "acme", str(created["id"])) == {"revoked": 2}
    store = cli.store()
    for token in (created["token"], extra):
        with pytest.raises(Exception, match="unknown or revoked"):
            store.accounts.authenticate(token)


def test_a_tools_token_is_issued_once_replaced_on_request_and_revoked(cli: Cli) -> None:
    cli.json("tenant", "create", "acme")
    first = cli.json("tenant", "tools-token", "acme")["tools_token"]
    assert first.startswith("whm_")
    again = cli.run("tenant", "tools-token", "acme")
    assert again.returncode != 0
    assert "--replace" in again.stderr
    second = cli.json("tenant", "tools-token", "acme", "--replace")["tools_token"]
    snapshot = cli.store().snapshots.snapshot(["acme"])["acme"]
    assert token_matches(second, snapshot.tools_token_hash)
    assert not token_matches(first, snapshot.tools_token_hash)
    assert cli.json("tenant", "revoke-tools-token", "acme") == {"tenant": "acme", "revoked": True}
    assert cli.json("tenant", "revoke-tools-token", "acme")["revoked"] is False
    assert cli.store().snapshots.snapshot(["acme"])["acme"].tools_token_hash is None


def test_keys_rotate_re_encrypts_with_the_first_key(cli: Cli) -> None:
    cli.json("tenant", "create", "acme")
    cli.store().catalog.create(
        "acme",
        {
            "name": "hook",
            "description": "d",
            "url": "https://api.example.com/",
            "headers": {"X-Key": "value"},
        },
        actor="test",
    )
    new = generate_key()
    assert cli.json("keys", "rotate", keys=f"{new},{cli.key}") == {"rotated": 1}
    store = cli.store(new)
    assert store.catalog.headers_for(store.catalog.get("acme", "hook")) == {"X-Key": "value"}
    # The old key alone no longer opens the store: a clear start-up error, exit 2.
    refused = cli.run("tenant", "list")
    assert refused.returncode == 2
    assert "not configured" in refused.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(["tenant", "create", "Bad Name"], 1, id="invalid-name"),
        pytest.param(["skill", "enable", "nobody"], 1, id="unknown-tenant"),
        pytest.param(["budget", "acme", "0"], 1, id="budget-too-small"),
        pytest.param(["budget", "acme", "many"], 2, id="budget-not-a-number"),
        pytest.param(["operator", "create", "nobody", "x"], 1, id="operator-unknown-tenant"),
        pytest.param(["token", "revoke", "acme", "999"], 1, id="unknown-operator"),
        pytest.param(["operator", "create", "acme", "x", "--permission", "root"], 2, id="bad-perm"),
        pytest.param(["frobnicate"], 2, id="unknown-command"),
    ],
)
def test_refusals_have_exit_codes(cli: Cli, args: list[str], code: int) -> None:
    cli.json("tenant", "create", "acme")
    result = cli.run(*args)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr


def test_duplicate_tenant_is_refused_with_json_error(cli: Cli) -> None:
    cli.json("tenant", "create", "acme")
    result = cli.run("--json", "tenant", "create", "acme")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["type"] == "AlreadyExists"


def test_missing_key_is_a_configuration_error(cli: Cli, tmp_path: Path, run_main: RunMain) -> None:
    result = run_main(
        "admin",
        "tenant",
        "list",
        env={
            "DATABASE_URL": cli.database_url,
            "WEBHOOKS_KEY_FILE": str(tmp_path / "absent.key"),
        },
    )
    assert result.returncode == 2
    assert "no encryption key" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["migrate"],
        ["tenant"],
        ["tenant", "create"],
        ["tenant", "tools-token"],
        ["tenant", "revoke-tools-token"],
        ["skill"],
        ["operator"],
        ["operator", "create"],
        ["token"],
        ["token", "revoke"],
        ["keys"],
        ["keys", "rotate"],
    ],
)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m admin")


def test_the_commands_of_both_command_lines_are_the_cores(run_main: RunMain) -> None:
    """``migrate`` and ``keys generate`` are written once, in the core; the admin's table
    holds the same entries."""
    assert {MIGRATE_COMMAND, GENERATE_KEY_COMMAND} <= set(COMMANDS)
    for module in ("admin", "webhooks"):
        printed = run_main(module, "keys", "generate", env={})
        assert printed.returncode == 0, printed.stderr
        Keyring([printed.stdout.strip()])  # a valid Fernet key
