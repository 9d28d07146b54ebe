"""Settings, read once from the environment into one frozen object.

Every variable the project reads is listed in :data:`VARIABLES` with its default and meaning;
the configuration table of docs/operators.md is this list. Nothing reads the environment at
import time: call :meth:`Settings.from_environ` at start-up (tests pass ``environ=``).
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ._exceptions import ConfigurationError
from .egress._addresses import Network
from .egress._rules import EgressRules

__all__ = ["VARIABLES", "Settings"]

logger = logging.getLogger("webhooks")


#: name -> (default, meaning). The single source for the configuration table (docs/operators.md).
VARIABLES: dict[str, tuple[str, str]] = {
    "DATABASE_URL": (
        "sqlite:///.data/webhooks.db",
        "SQLAlchemy URL of the store: a SQLite file, or postgresql+psycopg://user@host/db",
    ),
    "WEBHOOKS_KEYS": (
        "",
        "comma-separated Fernet keys, newest first: the first encrypts, all decrypt",
    ),
    "WEBHOOKS_KEY_FILE": (
        ".data/webhooks.key",
        "file with one Fernet key per line (newest first), used when WEBHOOKS_KEYS is empty",
    ),
    "WEBHOOKS_EGRESS_ALLOW": (
        "",
        "comma-separated networks webhooks may reach despite the blocklist (development only; "
        "off by default and logged as a warning)",
    ),
    "WEBHOOKS_CA_FILE": (
        "",
        "PEM file of extra certificate authorities trusted for webhooks besides the system's "
        "(the demo service's own CA; empty by default)",
    ),
    "WEBHOOKS_DEFAULT_TENANT": (
        "",
        "tenant served by the action server's plain /webhook route (single-bot setups)",
    ),
    "WEBHOOKS_REFRESH_INTERVAL": (
        "0.25",
        "seconds between the action server's checks for changed definitions (0.05-10)",
    ),
    "WEBHOOKS_LOG_LEVEL": ("INFO", "log level of the project's loggers"),
    "WEBHOOKS_TENANT_CALLS": (
        "32",
        "webhook calls one tenant may have in flight per process (1-1000); more wait for a "
        "turn within their timeout, so one tenant's slow webhooks never delay another's",
    ),
    "WEBHOOKS_MCP_ORIGINS": (
        "",
        "comma-separated browser origins (scheme://host[:port]) the tools server accepts on "
        "its MCP endpoint; empty: any request with an Origin header is refused (403), "
        "against DNS rebinding. Clients that are no browser send none and are served",
    ),
    "WEBHOOKS_AUTH_FAILURES": (
        "10",
        "failed authentications one client address may make per minute on each server "
        "process; past them its wrong credentials get 429 until the minute is over "
        "(0-1000; 0: off, for servers behind a proxy that throttles per client)",
    ),
    "RASA_URL": (
        "http://127.0.0.1:5005",
        "the Rasa server `python -m bot reload` loads a model into",
    ),
    "RASA_TOKEN": ("", "Rasa's --auth-token, for `python -m bot reload`"),
    "WEBHOOKS_METRICS_TOKEN": (
        "",
        "bearer token Prometheus sends for the action server's /metrics (at least 16 "
        "characters); empty: /metrics is off",
    ),
}

#: The shortest metrics token accepted: a guessable one would open the tenants' metrics.
MIN_METRICS_TOKEN = 16


def _egress_rules(get: Callable[[str], str]) -> EgressRules:
    """The deployment's egress rules, from the variables that set them."""
    try:
        return EgressRules(allow=_networks(get("WEBHOOKS_EGRESS_ALLOW"), "WEBHOOKS_EGRESS_ALLOW"))
    except ValueError as exc:
        raise ConfigurationError(
            f"WEBHOOKS_EGRESS_ALLOW: {exc}", variable="WEBHOOKS_EGRESS_ALLOW"
        ) from exc


def _networks(raw: str, variable: str) -> tuple[Network, ...]:
    networks: list[Network] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=True))
        except ValueError as exc:
            # ipaddress says why: "has host bits set", "does not appear to be an IPv4 or IPv6
            # network", an octet out of range.
            raise ConfigurationError(
                f"{variable}: {item!r} is not a network: {exc} (e.g. 127.0.0.1/32)",
                variable=variable,
            ) from exc
    return tuple(networks)


def _origins(raw: str) -> tuple[str, ...]:
    origins: list[str] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        origin = _origin_of(item)
        if origin is None:
            raise ConfigurationError(
                f"WEBHOOKS_MCP_ORIGINS: {item!r} is not an origin (e.g. https://agent.example.com)",
                variable="WEBHOOKS_MCP_ORIGINS",
            )
        origins.append(origin)
    return tuple(origins)


def _origin_of(value: str) -> str | None:
    """``value`` as a browser writes an ``Origin`` header (``scheme://host[:port]``, lower
    case, no default port), or None if it is none: ``null``, a path, a user, another scheme."""
    try:
        url = urlsplit(value.strip())
        port = url.port
    except ValueError:
        return None
    if (
        url.scheme.lower() not in _DEFAULT_PORTS
        or not url.hostname
        or url.username is not None
        or url.path
        or url.query
        or url.fragment
        or "?" in value
        or "#" in value
    ):
        return None
    scheme = url.scheme.lower()
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The project's configuration. Build it with :meth:`from_environ`."""

    database_url: str = VARIABLES["DATABASE_URL"][0]
    keys: tuple[str, ...] = field(default=(), repr=False)
    key_file: Path = Path(VARIABLES["WEBHOOKS_KEY_FILE"][0])
    #: What this deployment changes about where webhooks may go (WEBHOOKS_EGRESS_ALLOW).
    egress_rules: EgressRules = field(default_factory=EgressRules)
    ca_file: Path | None = None
    default_tenant: str | None = None
    refresh_interval: float = 0.25
    log_level: str = "INFO"
    metrics_token: str | None = field(default=None, repr=False)
    tenant_calls: int = 32
    mcp_origins: tuple[str, ...] = ()
    auth_failures: int = 10
    rasa_url: str = VARIABLES["RASA_URL"][0]
    rasa_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every variable once; raise :class:`ConfigurationError` on a bad value."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str:
            return env.get(name, "").strip() or VARIABLES[name][0]

        level = get("WEBHOOKS_LOG_LEVEL").upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ConfigurationError(
                f"WEBHOOKS_LOG_LEVEL: {level!r} is not a log level", variable="WEBHOOKS_LOG_LEVEL"
            )
        try:
            interval = float(get("WEBHOOKS_REFRESH_INTERVAL"))
        except ValueError:
            interval = -1.0
        if not 0.05 <= interval <= 10:
            raise ConfigurationError(
                "WEBHOOKS_REFRESH_INTERVAL: seconds between 0.05 and 10",
                variable="WEBHOOKS_REFRESH_INTERVAL",
            )
        try:
            tenant_calls = int(get("WEBHOOKS_TENANT_CALLS"))
        except ValueError:
            tenant_calls = 0
        if not 1 <= tenant_calls <= 1000:
            raise ConfigurationError(
                "WEBHOOKS_TENANT_CALLS: a whole number from 1 to 1000",
                variable="WEBHOOKS_TENANT_CALLS",
            )
        try:
            auth_failures = int(get("WEBHOOKS_AUTH_FAILURES"))
        except ValueError:
            auth_failures = -1
        if not 0 <= auth_failures <= 1000:
            raise ConfigurationError(
                "WEBHOOKS_AUTH_FAILURES: a whole number from 0 to 1000",
                variable="WEBHOOKS_AUTH_FAILURES",
            )
        metrics_token = get("WEBHOOKS_METRICS_TOKEN") or None
        if metrics_token is not None and (
            len(metrics_token) < MIN_METRICS_TOKEN or not metrics_token.isascii()
        ):
            raise ConfigurationError(
                f"WEBHOOKS_METRICS_TOKEN: use at least {MIN_METRICS_TOKEN} ASCII characters "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')",
                variable="WEBHOOKS_METRICS_TOKEN",
            )
        settings = cls(
            database_url=get("DATABASE_URL"),
            keys=tuple(k.strip() for k in get("WEBHOOKS_KEYS").split(",") if k.strip()),
            key_file=Path(get("WEBHOOKS_KEY_FILE")),
            egress_rules=_egress_rules(get),
            ca_file=Path(get("WEBHOOKS_CA_FILE")) if get("WEBHOOKS_CA_FILE") else None,
            default_tenant=get("WEBHOOKS_DEFAULT_TENANT") or None,
            refresh_interval=interval,
            log_level=level,
            metrics_token=metrics_token,
            tenant_calls=tenant_calls,
            mcp_origins=_origins(get("WEBHOOKS_MCP_ORIGINS")),
            auth_failures=auth_failures,
            rasa_url=get("RASA_URL"),
            rasa_token=get("RASA_TOKEN") or None,
        )
        if settings.ca_file is not None and not settings.ca_file.is_file():
            raise ConfigurationError(
                f"WEBHOOKS_CA_FILE: {settings.ca_file} is not a file", variable="WEBHOOKS_CA_FILE"
            )
        if settings.egress_rules.allow:
            logger.warning(
                "WEBHOOKS_EGRESS_ALLOW is set: webhooks may reach %s despite the blocklist; "
                "never use this in production",
                ", ".join(str(n) for n in settings.egress_rules.allow),
            )
        return settings
