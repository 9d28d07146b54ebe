"""The README's first command on a clean checkout: ``make run`` until Rasa answers, then Ctrl-C.

The checkout is the project's files as git sees them (tracked, and new files not ignored), so
nothing built before is there: no .venv links, no .data, no models link, no logs. Environments
and models come from the machine's caches, as on any warm machine; a cold one builds them.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.admin.conftest import free_port
from tests.conftest import base_env
from tests.e2e.conftest import ROOT, _needs_rasa
from tests.mcp_server.conftest import connect

pytestmark = [pytest.mark.slow, pytest.mark.rasa]

#: A cold machine builds both environments and trains: minutes. A warm one: about a minute.
UP_WITHIN = 900.0


def clean_checkout(target: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@dataclass
class Run:
    process: subprocess.Popen[bytes]
    output: Path
    ports: dict[str, int]
    checkout: Path
    env: dict[str, str]

    def text(self) -> str:
        return self.output.read_text(errors="replace")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    _needs_rasa()
    checkout = clean_checkout(tmp_path_factory.mktemp("clone"))
    ports = {
        name: free_port()
        for name in (
            "ADMIN_PORT",
            "ACTIONS_PORT",
            "TOOLS_PORT",
            "RASA_PORT",
            "DEMO_PORT",
            "WEB_PORT",
        )
    }
    env = {
        **base_env(),
        "HOME": os.environ.get("HOME", "/root"),
        **{k: v for k, v in os.environ.items() if k in {"WEBHOOKS_CACHE_DIR", "PYENV_ROOT"}},
        **{name: str(port) for name, port in ports.items()},
    }
    output = checkout / "terminal.txt"
    with output.open("wb") as terminal:
        # Its own process group, as a terminal gives it: Ctrl-C signals the whole group.
        process = subprocess.Popen(
            ["make", "run"], cwd=checkout, env=env, stdout=terminal, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    run = Run(process, output, ports, checkout, env)
    try:
        deadline = time.monotonic() + UP_WITHIN
        while "Everything is up" not in run.text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"make run did not come up:\n{run.text()[-4000:]}")
            time.sleep(0.5)
        yield run
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def readme_block(after: str) -> list[tuple[str, str | None]]:
    """The README's ``sh`` block after the line starting with ``after``: each command with the
    text its ``# ... "expected"`` comment says the reply holds (None when it says nothing)."""
    text = (ROOT / "README.md").read_text()
    block = text[text.index(after) :].split("```sh\n", 1)[1].split("```", 1)[0]
    steps: list[tuple[str, str | None]] = []
    for line in block.splitlines():
        if line.startswith("# ... "):
            steps[-1] = (steps[-1][0], line.split('"')[1])
        elif line.strip():
            steps.append((line, None))
    return steps


def test_the_readme_operator_loop_works_verbatim_without_training(make_run: Run) -> None:
    terminal = make_run.text()
    token = next(line for line in terminal.splitlines() if "export TOKEN=" in line)
    ports = make_run.ports
    env = make_run.env | {"TOKEN": token.split("=", 1)[1].strip()}
    trained = sorted((make_run.checkout / "models").iterdir())
    for command, expected in readme_block("The operator's loop"):
        for default, name in (("5056", "ADMIN_PORT"), ("5005", "RASA_PORT"), ("8443", "DEMO_PORT")):
            command = command.replace(f"127.0.0.1:{default}/", f"127.0.0.1:{ports[name]}/")
        deadline = time.monotonic() + 10  # the router has the new action within a second
        while True:
            done = subprocess.run(
                ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=60,
                check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            if expected is None or expected in done.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert expected is None or expected in done.stdout, (command, done.stdout)
    assert sorted((make_run.checkout / "models").iterdir()) == trained  # nothing was trained


async def _tool_names(url: str, token: str) -> set[str]:
    async with connect(url, token) as client:
        return {tool.name for tool in (await client.session.list_tools()).tools}


def _group_command_lines(group: int) -> dict[int, str]:
    """Every live process of process group ``group``: its command line as any user reads it."""
    lines: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The fields after the command's name (which may hold spaces) in parentheses.
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            if int(fields[2]) == group:
                command = (entry / "cmdline").read_bytes()
                lines[int(entry.name)] = command.replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError):  # it ended meanwhile
            continue
    return lines


def test_no_token_is_on_a_command_line_and_the_store_is_the_owners(make_run: Run) -> None:
    terminal = make_run.text()
    tokens = {
        name: re.search(rf"{name}=(\S+)", terminal).group(1)  # type: ignore[union-attr]
        for name in ("TOKEN", "ACTION_TOKEN", "TOOLS_TOKEN", "RASA_TOKEN")
    }
    lines = _group_command_lines(make_run.process.pid)
    rasa = [line for line in lines.values() if "rasa_run.py" in line]
    assert len(rasa) == 1  # the check below looks at the running Rasa, among others
    assert "--enable-api" in rasa[0]
    # Names only: a failing check must not print the tokens either.
    leaked = [name for name, token in tokens.items() if any(token in x for x in lines.values())]
    assert leaked == []
    # And Rasa does use the token it was given another way.
    status = f"http://127.0.0.1:{make_run.ports['RASA_PORT']}/status"
    assert httpx.get(status, params={"token": tokens["RASA_TOKEN"]}).status_code == 200
    assert httpx.get(status, params={"token": "wrong"}).status_code == 401

    data = make_run.checkout / ".data"
    stores = [data / name for name in ("webhooks.db", "webhooks.db-wal", "webhooks.db-shm")]
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in stores if p.exists()} == {
        p.name: 0o600 for p in stores if p.exists()
    }
    assert stores[0].exists()


def test_make_run_answers_the_readme_example_then_ctrl_c_leaves_nothing(make_run: Run) -> None:
    rasa = f"http://127.0.0.1:{make_run.ports['RASA_PORT']}"
    reply = httpx.post(
        f"{rasa}/webhooks/rest/webhook",
        json={"sender": "me", "message": "where is my order #4521?"},
        timeout=60,
    ).json()
    assert reply == [
        {"recipient_id": "me", "text": "Order #4521 has shipped and arrives in 2 days."}
    ]
    # The README's next lines: the demo operator's replies, a not_found one and a template
    # over the result's list.
    for message, expected in (
        ("where is my order #12?", "I couldn't find order #12. Please check the number in"),
        ("any offers today?", "Today's offers:\n- Trail runners: 25% off, now 59.0 EUR\n- "),
    ):
        said = httpx.post(
            f"{rasa}/webhooks/rest/webhook", json={"sender": "me", "message": message}, timeout=60
        ).json()
        assert expected in " ".join(m.get("text", "") for m in said), said

    terminal = make_run.text()
    # Our progress and the instructions; Rasa's own output is in logs/.
    assert len(terminal) < 6000, terminal
    assert "Traceback" not in terminal
    assert "WARNING" not in terminal.replace("WEBHOOKS_EGRESS_ALLOW is set", "")
    assert f"http://127.0.0.1:{make_run.ports['ADMIN_PORT']}/api/v1/openapi.json" in terminal
    token = next(line for line in terminal.splitlines() if "export ACTION_TOKEN=" in line)
    served = httpx.get(
        f"http://127.0.0.1:{make_run.ports['ACTIONS_PORT']}/tenants/demo/actions",
        params={"token": token.split("=", 1)[1]},
    )
    assert served.status_code == 200  # the printed token is the one Rasa uses
    assert {"name": "action_webhook"} in served.json()
    admin = f"http://127.0.0.1:{make_run.ports['ADMIN_PORT']}"
    assert httpx.get(f"{admin}/api/v1/openapi.json").status_code == 200
    # The console it prints, and the printed admin token signs in there.
    assert f"Operator console: {admin}/" in terminal
    assert "<title>Webhook actions" in httpx.get(f"{admin}/").text
    admin_token = next(line for line in terminal.splitlines() if "export TOKEN=" in line)
    me = httpx.get(
        f"{admin}/api/v1/me",
        headers={"Authorization": f"Bearer {admin_token.split('=', 1)[1].strip()}"},
    )
    assert me.json()["admin"] is True
    # The web chat it prints serves its page with the widget for this Rasa.
    web = f"http://127.0.0.1:{make_run.ports['WEB_PORT']}/"
    assert f"Chat with the assistant in a browser: {web}" in terminal
    assert f'data-server="{rasa}"' in httpx.get(web).text
    # The MCP tools server, with the tools token it prints, lists the demo actions.
    tools_token = next(line for line in terminal.splitlines() if "export TOOLS_TOKEN=" in line)
    mcp = f"http://127.0.0.1:{make_run.ports['TOOLS_PORT']}/tenants/demo/mcp"
    assert mcp in terminal
    assert "order_status" in asyncio.run(_tool_names(mcp, tools_token.split("=", 1)[1].strip()))

    # A second make run while this one is up: one line saying why, before anything starts.
    again = subprocess.run(
        ["make", "--no-print-directory", "run"], cwd=make_run.checkout, env=make_run.env,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert again.returncode != 0
    assert "is already in use (is make run already running?)" in again.stderr
    assert "starting" not in again.stdout

    os.killpg(make_run.process.pid, signal.SIGINT)
    assert make_run.process.wait(timeout=60) is not None
    with pytest.raises(ProcessLookupError):  # nothing of the group is left
        os.killpg(make_run.process.pid, 0)
    assert not [name for name, port in make_run.ports.items() if _listening(port)]
    assert make_run.text().rstrip().endswith("stopped")
