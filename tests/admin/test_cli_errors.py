"""What a newcomer's mistakes get from the command lines: one clear line with the fix, the
documented exit code (1 refused, 2 usage or configuration), and nothing created on the way.

The admin and core command lines run in this process (their ``main``); real processes prove
their entry points (``python -m admin``, ``python -m webhooks``) and run the action server.
"""

from __future__ import annotations

import shlex
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.admin.conftest import Ran, RunMain, free_port
from tests.servers import run_cli
from webhooks import generate_key

ROOT = Path(__file__).resolve().parents[2]


def one_line(result: Ran | subprocess.CompletedProcess[str], code: int) -> str:
    """The one line on standard error, after checking the exit code."""
    assert result.returncode == code, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def tree(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


@pytest.fixture
def env(tmp_path: Path, run_main: RunMain) -> dict[str, str]:
    """A migrated SQLite store with a key given by value."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", "WEBHOOKS_KEYS": generate_key()}
    assert run_main("admin", "migrate", env=env).returncode == 0
    return env


def _run_module(run_main: RunMain, module: str, *args: str, env: dict[str, str]) -> Ran:
    """The admin command line in this process; the action server, a program of its own, as a
    real process."""
    if module == "actions":
        done = run_cli(module, *args, env=env)
        return Ran(done.returncode, done.stdout, done.stderr)
    return run_main(module, *args, env=env)


@pytest.mark.parametrize(
    ("module", "command"),
    [
        pytest.param("admin", "tenant list", id="admin-cli"),
        pytest.param("admin", "serve", id="admin-server"),
        pytest.param("actions", "serve", id="action-server"),
    ],
)
def test_a_database_never_migrated_is_named_with_the_fix_and_nothing_is_created(
    tmp_path: Path, run_main: RunMain, module: str, command: str
) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'not/there/store.db'}",
        "WEBHOOKS_KEYS": generate_key(),
    }
    args = command.split() + (["--port", str(free_port())] if command == "serve" else [])
    line = one_line(_run_module(run_main, module, *args, env=env), 2)
    assert "no database at" in line
    assert "python -m admin migrate" in line
    assert tree(tmp_path) == []


def test_an_empty_database_file_is_not_migrated(tmp_path: Path, run_main: RunMain) -> None:
    (tmp_path / "store.db").touch()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", "WEBHOOKS_KEYS": generate_key()}
    line = one_line(run_main("admin", "tenant", "list", env=env), 2)
    assert "is not migrated" in line
    assert "python -m admin migrate" in line


@pytest.mark.parametrize("command", [["tenant", "list"], ["migrate"]])
def test_an_unreachable_postgresql_is_one_line(run_main: RunMain, command: list[str]) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    line = one_line(run_main("admin", *command, env={"DATABASE_URL": url, **_key()}), 2)
    assert line.startswith("configuration error: cannot reach the database postgresql")
    assert "Connection refused" in line
    assert "DATABASE_URL" in line


def _key() -> dict[str, str]:
    return {"WEBHOOKS_KEYS": generate_key()}


def documented_cli_commands() -> list[list[str]]:
    """The command-line walk-through of docs/operators.md, as argument lists for
    ``python -m admin``."""
    page = (ROOT / "docs" / "operators.md").read_text()
    section = page[page.index("## Tenants and operators from the command line") :]
    block = section[section.index("```sh") + len("```sh") : section.index("```\n", 10)]
    prefix = ".venv/bin/python -m admin "
    return [
        shlex.split(line.split("  #")[0].removeprefix(prefix))
        for line in block.strip().splitlines()
        if line.startswith(prefix)
    ]


def test_a_missing_key_names_the_command_that_creates_it(tmp_path: Path, run_main: RunMain) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'webhooks.db'}",
        "WEBHOOKS_KEY_FILE": str(tmp_path / "webhooks.key"),
    }
    assert run_main("admin", "migrate", env=env).returncode == 0
    line = one_line(run_main("admin", "tenant", "create", "acme", env=env), 2)
    assert "no encryption key" in line
    assert "python -m admin keys init" in line
    assert not (tmp_path / "webhooks.key").exists()


def test_the_documented_walk_through_works_in_order_on_a_fresh_database(
    tmp_path: Path, run_main: RunMain
) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'data/webhooks.db'}",
        "WEBHOOKS_KEY_FILE": str(tmp_path / "data/webhooks.key"),
    }
    commands = documented_cli_commands()
    assert commands[:2] == [["migrate"], ["keys", "init"]]
    assert commands[-1][0] == "serve"
    outputs = []
    for command in commands[:-1]:  # serve runs until stopped
        done = run_main("admin", *command, env=env)
        assert done.returncode == 0, f"{command}: {done.stderr}"
        outputs.append(done.stdout)
    key_file = tmp_path / "data/webhooks.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    assert run_main("admin", "keys", "init", env=env).returncode == 0
    assert key_file.read_text() == key  # kept, never overwritten
    # The operator id the walk-through revokes is bob's, as `operator list` shows it.
    listed = outputs[commands.index(["operator", "list", "acme"])]
    assert "2\tbob" in listed
    assert outputs[commands.index(["token", "revoke", "acme", "2"])] == "revoked 1 token(s)\n"
    assert outputs[commands.index(["keys", "list"])].startswith("1\t")


def test_a_second_action_token_needs_replace(env: dict[str, str], run_main: RunMain) -> None:
    run_main("admin", "tenant", "create", "acme", env=env)
    first = run_main("admin", "tenant", "action-token", "acme", env=env).stdout.strip()
    line = one_line(run_main("admin", "tenant", "action-token", "acme", env=env), 1)
    assert "already has an action token" in line
    assert "401" in line
    assert "--replace" in line
    second = run_main("admin", "tenant", "action-token", "acme", "--replace", env=env)
    assert second.returncode == 0
    assert second.stdout.strip().startswith("wht_")
    assert second.stdout.strip() != first


def test_rotating_with_one_key_says_nothing_was_rotated(
    env: dict[str, str], run_main: RunMain
) -> None:
    result = run_main("admin", "keys", "rotate", env=env)
    assert result.returncode == 0
    assert result.stdout.startswith("nothing to re-encrypt")
    assert "keys generate" in result.stdout


@pytest.mark.parametrize("module", ["admin", "webhooks"])
def test_migrate_prints_one_line_of_its_own(env: dict[str, str], module: str) -> None:
    """As a real process: the entry point runs, with the logging it configures."""
    result = run_cli(module, "migrate", env=env)
    assert result.returncode == 0
    assert result.stderr == ""  # no Alembic chatter
    assert result.stdout.startswith("migrations applied to sqlite:///")
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize(
    ("value", "why"),
    [
        pytest.param("10.0.0.0/4", "has host bits set", id="host-bits"),
        pytest.param("10.0.0.300/32", "does not appear to be", id="octet"),
    ],
)
def test_a_bad_variable_value_says_why(
    env: dict[str, str], run_main: RunMain, value: str, why: str
) -> None:
    line = one_line(
        run_main("admin", "tenant", "list", env=env | {"WEBHOOKS_EGRESS_ALLOW": value}), 2
    )
    assert line.startswith("configuration error: WEBHOOKS_EGRESS_ALLOW:")
    assert why in line


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("module", ["admin", "actions"])
def test_a_port_in_use_is_one_line(
    env: dict[str, str], run_main: RunMain, taken_port: int, module: str
) -> None:
    line = one_line(_run_module(run_main, module, "serve", "--port", str(taken_port), env=env), 2)
    assert f"port {taken_port} on 127.0.0.1 is already in use" in line
    assert "--port" in line


def test_the_core_help_shows_no_markup(run_main: RunMain) -> None:
    result = run_main("webhooks", "--help", env={})
    assert result.returncode == 0
    assert "``" not in result.stdout


def test_check_url_names_the_address_once(run_main: RunMain) -> None:
    result = run_main("webhooks", "check-url", "https://169.254.169.254/latest", env={})
    assert result.returncode == 1
    assert result.stderr == ""
    assert result.stdout.count("169.254.169.254") == 2, result.stdout  # the URL and the reason
