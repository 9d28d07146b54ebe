"""A server's Prometheus metrics (the action server's, the tools server's), in a registry of its
own (not the global one)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ..store._registry import Registry

__all__ = ["METRICS_CONTENT_TYPE", "Metrics"]

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """Counters of webhook calls by outcome, their latency, retries and pauses, and the
    cache's size."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls = Counter(
            "webhook_calls",
            "Webhook calls (action runs, tool calls) by tenant, action and outcome (ok or a "
            "failure category).",
            ["tenant", "action", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "webhook_call_seconds",
            "Time spent in webhook calls that reached the network.",
            ["tenant"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.retries = Counter(
            "webhook_retries",
            "Webhook call attempts made again, by tenant, action and reason (connect: the "
            "connection failed before sending; connection_lost: after it; or the HTTP status).",
            ["tenant", "action", "reason"],
            registry=self.registry,
        )
        self.pauses = Counter(
            "webhook_pauses",
            "Pauses of an action's calls after its service kept failing (a failed probe "
            "starts a new, longer one).",
            ["tenant", "action"],
            registry=self.registry,
        )
        self.paused_now = Gauge(
            "webhook_paused",
            "1 while this process holds an action's calls back after its service kept "
            "failing, 0 once a probe found it back.",
            ["tenant", "action"],
            registry=self.registry,
        )
        self.requests = Histogram(
            "action_server_request_seconds",
            "Time the action server took to answer Rasa's calls, by tenant and the action Rasa "
            "ran (the generic dispatch's few names), the webhook's time included.",
            ["tenant", "action"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30),
            registry=self.registry,
        )
        self.definitions = Gauge(
            "webhook_definitions",
            "Webhook definitions in this server's cache.",
            registry=self.registry,
        )
        self.refresh_age = Gauge(
            "webhook_cache_age_seconds",
            "Seconds since the cache last checked the store for changes.",
            registry=self.registry,
        )

        # The labelled children, looked up once: ``labels()`` validates, locks and builds a
        # tuple at every call.
        self._calls: dict[tuple[str, str, str], Counter] = {}
        self._latency: dict[str, Histogram] = {}
        self._requests: dict[tuple[str, str], Histogram] = {}

    def record(self, tenant: str, action: str, outcome: str, elapsed: float) -> None:
        key = (tenant, action, outcome)
        calls = self._calls.get(key)
        if calls is None:
            calls = self._calls[key] = self.calls.labels(tenant, action, outcome)
        calls.inc()
        if elapsed > 0:
            latency = self._latency.get(tenant)
            if latency is None:
                latency = self._latency[tenant] = self.latency.labels(tenant)
            latency.observe(elapsed)

    def answered(self, tenant: str, action: str, elapsed: float) -> None:
        """Rasa's call of ``action`` answered after ``elapsed`` seconds."""
        key = (tenant, action)
        requests = self._requests.get(key)
        if requests is None:
            requests = self._requests[key] = self.requests.labels(tenant, action)
        requests.observe(elapsed)

    def retried(self, tenant: str, action: str, reason: str) -> None:
        """Count an attempt made again for ``reason``."""
        self.retries.labels(tenant, action, reason).inc()

    def failing(self, tenant: str, action: str) -> None:
        """An action's call failed in a way that counts towards a pause: its pause series
        now exist at 0, so the first pause is an increase Prometheus can see (a series that
        appears at 1 is not)."""
        self.pauses.labels(tenant, action)
        self.paused_now.labels(tenant, action)

    def paused(self, tenant: str, action: str, paused: bool) -> None:
        """An action's calls paused (a pause began) or served again."""
        if paused:
            self.pauses.labels(tenant, action).inc()
        self.paused_now.labels(tenant, action).set(1 if paused else 0)

    def render(self, cache: Registry) -> bytes:
        """The text exposition, with the gauges of ``cache`` read now."""
        self.refresh_age.set(time.monotonic() - cache.refreshed_at)
        self.definitions.set(cache.definitions())
        return generate_latest(self.registry)
