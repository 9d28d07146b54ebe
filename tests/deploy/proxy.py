"""deploy/nginx as a real nginx on loopback ports: its files, rendered for a test, and a client.

The production files are used as written except for what only a deployment has: the ports
(8080 and 8443 become free loopback ports, IPv6 listeners are left out), the secrets'
directory (``/run/secrets``: a trustme certificate here), the writable ``/tmp/nginx`` (a
temporary prefix) and the upstream servers (compose service names become the loopback
addresses of servers the test started). Each of these rewrites must find what it rewrites, so
a change to the files that would make a test miss them fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from tests.admin.conftest import free_port
from tests.deploy.tools import DEPLOY

NGINX = DEPLOY / "nginx"
#: Where the deployment's nginx finds its secrets, and the tmpfs it writes to.
SECRETS = "/run/secrets/"
WRITABLE = "/tmp/nginx/"  # noqa: S108 (the container's own tmpfs)
#: The public host names the proxy serves (deploy/nginx/sites.conf).
HOSTS = ("admin.example.com", "chat.example.com", "bot.example.com", "mcp.example.com")
#: The compose services behind the proxy and their ports (deploy/nginx/upstreams.conf).
UPSTREAMS = {
    "rasa-1": 5005,
    "rasa-2": 5005,
    "admin": 5056,
    "tools": 5057,
    "web": 8000,
}


def _replace(text: str, pattern: str, replacement: str, what: str) -> str:
    new, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if count == 0:
        raise AssertionError(f"deploy/nginx no longer has {what} ({pattern!r})")
    return new


@dataclass
class Rendered:
    prefix: Path
    conf: Path
    http_port: int
    https_port: int


def render(
    prefix: Path, ca: trustme.CA, upstreams: Mapping[str, str], *, http_port: int = 0
) -> Rendered:
    """deploy/nginx copied under ``prefix`` with the deployment-only parts rewritten;
    ``upstreams`` maps each service of :data:`UPSTREAMS` to a ``host:port`` to use."""
    conf_dir = prefix / "conf"
    shutil.copytree(NGINX, conf_dir, ignore=shutil.ignore_patterns("Containerfile"))
    secrets = prefix / "secrets"
    secrets.mkdir()
    cert = ca.issue_cert(*HOSTS)
    cert.private_key_pem.write_to_path(str(secrets / "tls_key"))
    (secrets / "tls_cert").write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    (prefix / "run").mkdir()
    http_port, https_port = http_port or free_port(), free_port()
    for path in conf_dir.rglob("*.conf"):
        text = path.read_text()
        text = text.replace(SECRETS, f"{secrets}/").replace(WRITABLE, f"{prefix}/run/")
        text = re.sub(r"^\s*listen \[::\]:.*\n", "", text, flags=re.MULTILINE)
        if path.name == "sites.conf":
            text = _replace(text, r"listen 8080\b", f"listen 127.0.0.1:{http_port}", "port 8080")
            text = _replace(text, r"listen 8443\b", f"listen 127.0.0.1:{https_port}", "port 8443")
        if path.name == "upstreams.conf":
            for service, port in UPSTREAMS.items():
                text = _replace(
                    text, rf"server {re.escape(service)}:{port}\b", f"server {upstreams[service]}",
                    f"the upstream {service}:{port}",
                )  # fmt: skip
        path.write_text(text)
    conf = conf_dir / "nginx.conf"
    for needle, what in ((f"{secrets}/", SECRETS), (f"{prefix}/run/", WRITABLE)):
        if needle not in "".join(p.read_text() for p in conf_dir.rglob("*.conf")):
            raise AssertionError(f"deploy/nginx no longer uses {what}")
    return Rendered(prefix, conf, http_port, https_port)


def nginx_command(nginx: str, rendered: Rendered, *extra: str) -> list[str]:
    return [nginx, "-e", "stderr", "-p", f"{rendered.prefix}/", "-c", str(rendered.conf), *extra]


@contextmanager
def temporary_prefix() -> Iterator[Path]:
    """A directory nginx's workers may enter: when the tests run as root the workers run as
    nobody, who cannot enter pytest's 0700 temporary directories."""
    prefix = Path(tempfile.mkdtemp(prefix="webhook-actions-nginx-"))
    prefix.chmod(0o755)
    try:
        yield prefix
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


@dataclass
class Proxy:
    """A running nginx, and requests to it as a client of each host name would send them."""

    rendered: Rendered
    ca: trustme.CA
    process: subprocess.Popen[bytes]
    log: Path

    def context(self, **options: Any) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        for name, value in options.items():
            setattr(context, name, value)
        return context

    def client(self) -> httpx.Client:
        return httpx.Client(verify=self.context(), timeout=10)

    def https(self, method: str, host: str, path: str, **kwargs: Any) -> httpx.Response:
        """``method`` ``https://host/path`` through the proxy (SNI and Host are ``host``)."""
        headers = {"Host": host, **kwargs.pop("headers", {})}
        with self.client() as client:
            return client.request(
                method,
                f"https://127.0.0.1:{self.rendered.https_port}{path}",
                headers=headers,
                extensions={"sni_hostname": host},
                **kwargs,
            )

    def http(self, method: str, host: str, path: str) -> httpx.Response:
        with httpx.Client(timeout=10) as client:
            return client.request(
                method, f"http://127.0.0.1:{self.rendered.http_port}{path}", headers={"Host": host}
            )

    def tcp(self) -> socket.socket:
        """A plain connection to the HTTPS port (for a client that does its own TLS)."""
        return socket.create_connection(("127.0.0.1", self.rendered.https_port), timeout=10)

    def handshake(self, host: str, context: ssl.SSLContext) -> ssl.SSLSocket:
        """A TLS connection to the proxy naming ``host``; raises ``ssl.SSLError`` if refused."""
        raw = self.tcp()
        try:
            return context.wrap_socket(raw, server_hostname=host)
        except BaseException:
            raw.close()
            raise


@contextmanager
def running(nginx: str, rendered: Rendered, ca: trustme.CA, log: Path) -> Iterator[Proxy]:
    """nginx in the foreground on the rendered files, until it answers on both ports."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            nginx_command(nginx, rendered, "-g", "daemon off;"),
            stdout=out,
            stderr=subprocess.STDOUT,
            env={"PATH": os.environ.get("PATH", "")},
        )
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                pytest.fail(f"nginx exited:\n{log.read_text()}")
            try:
                for port in (rendered.http_port, rendered.https_port):
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"nginx did not listen:\n{log.read_text()}")
                time.sleep(0.05)
        yield Proxy(rendered, ca, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
