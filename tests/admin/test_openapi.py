"""A property-based run of the OpenAPI document against the live server (schemathesis).

Every documented operation gets generated requests, valid and not; no answer may be a 5xx, and
every answer must match the document: documented status code, content type and body schema.
schemathesis runs as its own command (its pytest plugin does not support pytest 9 yet), with a
fixed seed so a failure is reproducible.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.admin.conftest import AdminServer

#: schemathesis tries wrong tokens among its cases: counted as guesses, they would leave the
#: rest of the run nothing but 429s (test_auth_failures.py tests the throttle).
SERVER_ENV = {"WEBHOOKS_AUTH_FAILURES": "0"}
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


def _run(server: AdminServer, identity: str, selection: list[str], cwd: Path) -> str:
    token = server.identities[identity].token
    schemathesis = Path(sys.executable).with_name("schemathesis")
    run = subprocess.run(
        [
            str(schemathesis),
            "run",
            server.base_url + "/api/v1/openapi.json",
            "--url",
            server.base_url + "/api/v1",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            "30",
            "--seed",
            "20261126",
            "--workers",
            "1",
            # A Test that reaches no server answers after the webhook's whole timeout (30 s at
            # most), as one to a silent server does.
            "--request-timeout",
            "40",
            "--generation-database",
            ":memory:",
            *selection,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=cwd,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout, run.stdout[-3000:]
    assert "Authentication failed" not in run.stdout, run.stdout[-3000:]
    return run.stdout


def test_api_conforms_to_its_openapi_document(admin_server: AdminServer, tmp_path: Path) -> None:
    # An action to act on, so operations on {name} reach their handlers, not only the 404 path.
    for webhook in admin_server.store.catalog.list("acme"):
        admin_server.store.catalog.delete("acme", webhook.name, actor="test")
    admin_server.store.catalog.create("acme", admin_server.definition("lookup"), actor="test")
    # The webhook routes as a manager, then the admin routes as the admin: run together, a
    # generated "switch the skill off" or "drop my permissions" would starve the rest of the run.
    # Revoking tokens runs last and alone: a generated id may be the admin's own.
    revoke = "DELETE /operators/{id}/tokens"
    _run(
        admin_server,
        "manager",
        ["--exclude-path-regex", "^/(skill|budget|operators|tools-token)"],
        tmp_path,
    )
    admin = [
        "--include-path-regex",
        "^/(skill|budget|operators|tools-token)",
        "--exclude-name",
        revoke,
    ]
    _run(admin_server, "admin", admin, tmp_path)
    _run(admin_server, "admin", ["--include-name", revoke], tmp_path)
