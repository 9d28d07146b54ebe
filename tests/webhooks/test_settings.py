"""Settings are read once, from an injectable environment, with safe defaults."""

from __future__ import annotations

import ipaddress
import logging

import pytest

from webhooks import ConfigurationError, EgressRules, Settings
from webhooks._settings import VARIABLES


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_environ({})
    assert settings.database_url == VARIABLES["DATABASE_URL"][0]
    assert settings.keys == ()
    assert settings.egress_rules == EgressRules()


def test_keys_are_an_ordered_list_and_hidden_from_repr() -> None:
    settings = Settings.from_environ({"WEBHOOKS_KEYS": " k1 , k2 ,"})
    assert settings.keys == ("k1", "k2")
    assert "k1" not in repr(settings)


def test_egress_allowance_is_parsed_and_logged_as_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="webhooks"):
        settings = Settings.from_environ({"WEBHOOKS_EGRESS_ALLOW": "127.0.0.1/32"})
    assert settings.egress_rules == EgressRules(allow=(ipaddress.ip_network("127.0.0.1/32"),))
    assert "WEBHOOKS_EGRESS_ALLOW" in caplog.text


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        pytest.param({"WEBHOOKS_EGRESS_ALLOW": "everything"}, "WEBHOOKS_EGRESS_ALLOW", id="allow"),
        pytest.param(
            {"WEBHOOKS_EGRESS_ALLOW": "10.0.0.1/8"}, "WEBHOOKS_EGRESS_ALLOW", id="host-bits"
        ),
        pytest.param({"WEBHOOKS_EGRESS_ALLOW": "0.0.0.0/0"}, "WEBHOOKS_EGRESS_ALLOW", id="global"),
        pytest.param({"WEBHOOKS_CA_FILE": "/nonexistent.pem"}, "WEBHOOKS_CA_FILE", id="ca-file"),
        pytest.param({"WEBHOOKS_LOG_LEVEL": "loud"}, "WEBHOOKS_LOG_LEVEL", id="log-level"),
        pytest.param({"WEBHOOKS_METRICS_TOKEN": "short"}, "WEBHOOKS_METRICS_TOKEN", id="metrics"),
        pytest.param({"WEBHOOKS_AUTH_FAILURES": "-1"}, "WEBHOOKS_AUTH_FAILURES", id="failures"),
        pytest.param({"WEBHOOKS_AUTH_FAILURES": "many"}, "WEBHOOKS_AUTH_FAILURES", id="words"),
    ],
)
def test_bad_values_name_their_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ(environ)
    assert caught.value.variable == variable


def test_settings_are_frozen() -> None:
    settings = Settings.from_environ({})
    with pytest.raises(AttributeError):
        settings.database_url = "x"  # type: ignore[misc]


def test_every_variable_is_documented() -> None:
    assert all(meaning for _, meaning in VARIABLES.values())


def test_the_metrics_token_is_kept_out_of_the_repr() -> None:
    token = "t" * 20
    settings = Settings.from_environ({"WEBHOOKS_METRICS_TOKEN": token})
    assert settings.metrics_token == token
    assert token not in repr(settings)


def test_mcp_origins_are_written_as_browsers_send_them() -> None:
    settings = Settings.from_environ(
        {"WEBHOOKS_MCP_ORIGINS": "https://Agent.Example.com:443, http://localhost:8080,"}
    )
    assert settings.mcp_origins == ("https://agent.example.com", "http://localhost:8080")
    assert Settings.from_environ({}).mcp_origins == ()  # every browser origin refused


@pytest.mark.parametrize(
    "origin",
    ["*", "null", "agent.example.com", "https://agent.example.com/", "https://a.example/mcp",
     "ftp://agent.example.com", "https://user@agent.example.com", "https://a.example:99999",
     "https://a.example?x", "https://"],
)  # fmt: skip
def test_a_value_that_is_no_origin_is_refused(origin: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ({"WEBHOOKS_MCP_ORIGINS": origin})
    assert caught.value.variable == "WEBHOOKS_MCP_ORIGINS"


@pytest.mark.parametrize(("raw", "limit"), [("", 10), ("0", 0), ("1000", 1000)])
def test_the_failure_limit_is_read_with_zero_for_off(raw: str, limit: int) -> None:
    assert Settings.from_environ({"WEBHOOKS_AUTH_FAILURES": raw}).auth_failures == limit
