#!/opt/venv/bin/python
"""The image's command (``/usr/local/bin/webhook-actions``): which program the container runs.

    admin [OPTIONS]      the admin API and console on 0.0.0.0:5056
    actions [OPTIONS]    the action server on 0.0.0.0:5055
    tools [OPTIONS]      the MCP tools server on 0.0.0.0:5057
    web [OPTIONS]        the web chat on 0.0.0.0:8000, chatting with WEBHOOKS_RASA_URL
    migrate              create or upgrade the database (python -m admin migrate)
    healthcheck          exit 0 if the server this container runs answers its health route
    check-url URL        would a webhook to URL be allowed? (python -m webhooks check-url)
    tenant|operator|token|skill|budget|keys ...   the admin command line (python -m admin)
    help                 this text

A server's OPTIONS (``--port``, ``--host``; ``web`` also ``--title``) come after the
container's defaults and so win over them. Each program replaces this one (``exec``), so it
receives the container's stop signal itself. Everything else is configured by the environment
variables of the configuration table in docs/operators.md.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Server:
    """One of the image's servers: its module, its port in the image and its health route."""

    module: str
    port: int
    health: str


SERVERS = {
    "admin": Server("admin", 5056, "/api/v1/health"),
    "actions": Server("actions", 5055, "/health"),
    "tools": Server("mcp_server", 5057, "/health"),
    "web": Server("web", 8000, "/health"),
}
#: The admin command line's commands, passed through as they are.
ADMIN_COMMANDS = {"migrate", "tenant", "operator", "token", "skill", "budget", "keys", "--json"}
#: The web chat's Rasa, as browsers reach it.
RASA_URL = "WEBHOOKS_RASA_URL"
HEALTH_TIMEOUT = 4.0


def _exec(*args: str) -> None:
    """Replace this process with ``python -m ARGS``."""
    argv = [sys.executable, "-m", *args]
    os.execv(sys.executable, argv)  # noqa: S606 (our own fixed programs, no shell)


def _serve(name: str, options: list[str]) -> None:
    server = SERVERS[name]
    defaults = ["--host", "0.0.0.0", "--port", str(server.port)]  # noqa: S104 (a container's interface)
    if name == "web" and os.environ.get(RASA_URL, "").strip():
        defaults += ["--rasa-url", os.environ[RASA_URL].strip()]
    _exec(server.module, "serve", *defaults, *options)


def _running(proc: Path = Path("/proc")) -> tuple[Server, str, str] | None:
    """The server running in this container (found in /proc): it, its host and its port."""
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue  # gone since, or not ours to read
        found = _served(argv)
        if found is not None:
            return found
    return None


def _served(argv: list[str]) -> tuple[Server, str, str] | None:
    """The server ``argv`` runs (``python -m MODULE serve ...``, MODULE a server's module, not
    its role's name: the tools role runs mcp_server), its host and its port."""
    by_module = {server.module: server for server in SERVERS.values()}
    for index in range(len(argv) - 2):
        if argv[index] == "-m" and argv[index + 2] == "serve" and argv[index + 1] in by_module:
            server = by_module[argv[index + 1]]
            return server, _last(argv, "--host", ""), _last(argv, "--port", str(server.port))
    return None


def _last(argv: list[str], option: str, default: str) -> str:
    """The value of the last ``option`` in ``argv`` (argparse's rule), else ``default``."""
    value = default
    for index, arg in enumerate(argv):
        if arg == option and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith(option + "="):
            value = arg.partition("=")[2]
    return value


def healthcheck() -> int:
    """0 if the container's server answers 200 on its health route, else 1 with the reason."""
    found = _running()
    if found is None:
        print("healthcheck: no server runs in this container", file=sys.stderr)
        return 1
    server, host, port = found
    # A wildcard address is reached on the loopback of the same family.
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    url = f"http://{netloc}{server.health}"
    # No proxy from the environment: the server is here.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=HEALTH_TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        print(f"healthcheck: {server.module} at {url}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"healthcheck: {server.module} at {url} answered {status}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"help", "-h", "--help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command in SERVERS:
        _serve(command, rest)
    elif command == "healthcheck":
        return healthcheck()
    elif command == "check-url":
        _exec("webhooks", "check-url", *rest)
    elif command in ADMIN_COMMANDS:
        _exec("admin", *argv)
    print(f"webhook-actions: unknown command {command!r}; `help` lists them", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
