"""The action server: Rasa's action protocol over Sanic, one rasa-sdk executor per tenant.

Routes: ``POST /tenants/<tenant>/webhook`` (Rasa's ``action_endpoint``, token in ``?token=``),
``POST /webhook`` for the configured default tenant, ``GET /tenants/<tenant>/actions`` and
``GET /actions`` (same token), ``GET /tenants/<tenant>/routing`` (what the live router in Rasa
matches messages against; the same token, also as ``Authorization: Bearer``), ``GET /health``
and ``GET /metrics``. rasa-sdk 3.21's executor
caches one domain per instance, so each tenant has its own. Errors are JSON and never echo the
request (rasa-sdk's own 500 handler does; we do not use it).
"""

from __future__ import annotations

import functools
import hmac
import logging
import time
from collections.abc import Callable
from typing import Any, cast

from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)
from sanic import Request, Sanic
from sanic.response import HTTPResponse, raw
from sanic.response import json as json_response

from webhooks import (
    ASK_ANSWER_ACTION,
    CALL_ACTION,
    DEFAULT_AUTH_FAILURES,
    DEFAULT_REFRESH_INTERVAL,
    DISPATCH_VALIDATOR,
    HELP_ACTION,
    METRICS_CONTENT_TYPE,
    STOPPED_ACTION,
    SWITCH_ACTION,
    AuthFailures,
    Category,
    ConversationLimits,
    Egress,
    Metrics,
    Registry,
    Settings,
    Store,
    TenantSnapshot,
    Throttled,
    WebhookCalls,
    asked_for,
    bearer_matches,
    bearer_token,
    egress_for,
    error_body,
    token_matches,
)

from ._dispatch import Dispatch
from ._service import WebhookService
from ._service import logger as calls_logger
from ._wire import MAX_BODY_BYTES, BadCall, read_call

__all__ = ["ActionServer", "build", "create_app"]

logger = logging.getLogger("actions")
#: The routing table's shape, in its ETag beside the tenant's version: a router that polled an
#: older action server gets the new shape (each action's questions) at once, not a 304 until
#: the tenant's next change.
ROUTING_TABLE_FORMAT = 2


#: The generic dispatch's actions: name -> the method of :class:`Dispatch` serving it.
_GENERIC = {
    CALL_ACTION: "call",
    DISPATCH_VALIDATOR: "validate",
    ASK_ANSWER_ACTION: "ask",
    STOPPED_ACTION: "stopped",
    SWITCH_ACTION: "switch",
}


def _executor_actions(dispatch: Dispatch, tenant: str) -> dict[str, Callable[..., Any]]:
    """One tenant's actions for rasa-sdk's executor: the generic dispatch and the help.

    The same few names serve every definition (they read the live one), so only the tenant
    differs, and a tenant's actions never change.
    """
    actions: dict[str, Callable[..., Any]] = {
        name: functools.partial(getattr(dispatch, method), tenant)
        for name, method in _GENERIC.items()
    }
    actions[HELP_ACTION] = functools.partial(dispatch.service.offer_help, tenant)
    return actions


def _bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    return bearer_token(request.headers.get("authorization"))


def _error(status: int, code: str, message: str, **extra: Any) -> HTTPResponse:
    # The admin API's envelope; extra keys beside it (Rasa reads a rejection's action_name).
    return json_response(error_body(code, message) | extra, status=status)


def _throttled(exc: Throttled) -> HTTPResponse:
    response = _error(429, exc.code, str(exc))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


class ActionServer:
    """The registry, the executors and the service of one action-server process."""

    def __init__(
        self,
        store: Store,
        egress: Egress,
        *,
        default_tenant: str | None = None,
        refresh_interval: float = DEFAULT_REFRESH_INTERVAL,
        metrics_token: str | None = None,
        auth_failures: int = DEFAULT_AUTH_FAILURES,
    ) -> None:
        self.metrics = Metrics()
        self.metrics_token = metrics_token
        self.failures = AuthFailures("actions", limit=auth_failures)
        self.executors: dict[str, ActionExecutor] = {}
        self.registry = Registry(store, interval=refresh_interval, listener=self._on_change)
        self.calls = WebhookCalls(
            store=store,
            registry=self.registry,
            egress=egress,
            limits=ConversationLimits(store.engine),
            metrics=self.metrics,
            logger=calls_logger,
            event="webhook_call",
            noun="action",
            # As this server's lines always said: an action the store does not have is named
            # as sent (escaped), where the tools server's lines say "(unknown)".
            log_unknown_names=True,
        )
        self.service = WebhookService(self.calls)
        self.dispatch = Dispatch(self.service)
        self.egress = egress
        self.default_tenant = default_tenant
        # tenant -> (token digest, the query of a request admitted with it); see _admitted.
        self._admitted_queries: dict[str, tuple[str, bytes]] = {}

    def _on_change(self, tenant: str, snapshot: TenantSnapshot | None) -> None:
        self.calls.forget(tenant)
        if snapshot is None:
            self._admitted_queries.pop(tenant, None)
            self.executors.pop(tenant, None)
            return
        if tenant not in self.executors:
            executor = ActionExecutor()
            # Set directly rather than through register_function, which logs a line per action.
            executor.actions = _executor_actions(self.dispatch, tenant)
            self.executors[tenant] = executor

    def _admitted(self, request: Request, tenant: str) -> bool:
        """Whether the request carries ``tenant``'s action-server token (``?token=``).

        Rasa sends the same query with every call, so the query of the last request admitted
        is remembered with the digest it matched: an identical query (compared in constant
        time) is admitted without parsing it or hashing the token again. A new token (a new
        digest) or any other query takes the full check.
        """
        snapshot = self.registry.get(tenant)
        if snapshot is None or snapshot.action_token_hash is None:
            return False
        digest = snapshot.action_token_hash
        query = request.query_string.encode()
        known = self._admitted_queries.get(tenant)
        if known is not None and known[0] == digest and hmac.compare_digest(known[1], query):
            return True
        token = request.args.get("token")
        if not token or not token_matches(token, digest):
            return False
        self._admitted_queries[tenant] = (digest, query)
        return True

    def refused(
        self,
        request: Request,
        *,
        admitted: Callable[[], bool],
        message: str = "unknown tenant or bad token",
    ) -> HTTPResponse | None:
        """None when ``admitted()`` says the request's token is right; otherwise the answer:
        401, counted against the address when a token was sent, or 429 for an address past
        its failures. A right token always passes: one Rasa sends every tenant's calls from
        one address, and a stale token of one must not stop the others."""
        if admitted():
            return None
        if "token" in request.args or "authorization" in request.headers:
            try:
                self.failures.check(request.ip)
            except Throttled as exc:
                return _throttled(exc)
            self.failures.failed(request.ip, request.path)
        return _error(401, "unauthenticated", message)

    async def handle(self, request: Request, tenant: str) -> HTTPResponse:
        started = time.perf_counter()
        refused = self.refused(request, admitted=lambda: self._admitted(request, tenant))
        if refused is not None:
            return refused
        try:
            call = read_call(request.body, request.headers.get("content-encoding"))
        except BadCall as bad:
            return _error(bad.status, bad.code, bad.message)
        action = call["next_action"]
        executor = self.executors[tenant]
        if action not in executor.actions:
            return self._not_served(tenant, action, call)
        try:
            result = await executor.run(call)
        except ActionNotFoundException as exc:
            return _error(404, "action_not_found", exc.message, action_name=exc.action_name)
        except ActionMissingDomainException as exc:
            return _error(449, "domain_missing", exc.message, action_name=exc.action_name)
        except ActionExecutionRejection as exc:
            return _error(400, "rejected", exc.message, action_name=exc.action_name)
        finally:
            self.metrics.answered(tenant, action, time.perf_counter() - started)
        if result is None:
            return json_response(None)
        # pydantic's own serializer writes the JSON in one step: 1.9 us where Sanic's ujson
        # took 4.1 for model_dump()'s dict (on a webhook's answer).
        try:
            body = result.model_dump_json().encode()
        except ValueError:  # a lone surrogate (an emoji cut in two): ujson writes it escaped
            return json_response(result.model_dump())
        return raw(body, content_type="application/json")

    def _not_served(self, tenant: str, action: str, call: dict[str, Any]) -> HTTPResponse:
        """An action the model declares but the dispatch does not serve (a model trained before
        it, with per-action entries) is answered politely, so the bot is not silent; one the
        model does not declare is a 404, as rasa-sdk answers."""
        domain = call.get("domain")
        declared = domain.get("actions") if isinstance(domain, dict) else None
        if not isinstance(declared, list) or action not in declared:
            return _error(
                404,
                "action_not_found",
                f"No registered action found for name '{action}'.",
                action_name=action,
            )
        logger.warning(
            "tenant=%s: the model calls %s, which the generic dispatch does not serve; "
            "retrain it (python -m bot check)",
            tenant,
            action,
        )
        dispatcher = CollectingDispatcher()
        self.service.fail(
            dispatcher, cast(dict[str, Any], domain), tenant, action, Category.NOT_CONFIGURED
        )
        return json_response({"events": [], "responses": dispatcher.messages})

    def routing(self, request: Request, tenant: str) -> HTTPResponse:
        """What Rasa's live router matches messages against: every action of the tenant with
        its description and examples, and what its questions ask for, disabled ones too (they
        are answered politely, not mistaken for another). ``If-None-Match`` with the last
        ``ETag`` gets a bare 304."""
        bearer = _bearer(request)
        snapshot = self.registry.get(tenant)
        digest = snapshot.action_token_hash if snapshot is not None else None

        def admitted() -> bool:
            if bearer is not None:
                return digest is not None and token_matches(bearer, digest)
            return self._admitted(request, tenant)

        refused = self.refused(request, admitted=admitted)
        if refused is not None:
            return refused
        if snapshot is None:  # admitted only with a snapshot's digest
            return _error(401, "unauthenticated", "unknown tenant or bad token")
        etag = f'"{snapshot.tenant.version}-{ROUTING_TABLE_FORMAT}"'
        if request.headers.get("if-none-match") == etag:
            return HTTPResponse(status=304, headers={"ETag": etag})
        skill = snapshot.tenant.skill_enabled
        table = {
            "tenant": tenant,
            "version": snapshot.tenant.version,
            "actions": [
                {
                    "name": webhook.name,
                    "description": webhook.description,
                    "examples": list(webhook.examples),
                    # What its questions ask for: a value taken from the conversation is
                    # never asked (a sender id).
                    "questions": [
                        asked_for(parameter)
                        for parameter in webhook.parameters
                        if parameter.source is None
                    ],
                    "enabled": skill and webhook.enabled,
                }
                for webhook in sorted(snapshot.webhooks.values(), key=lambda w: w.name)
            ],
        }
        return json_response(table, headers={"ETag": etag, "Cache-Control": "no-cache"})

    def actions(self, request: Request, tenant: str) -> HTTPResponse:
        refused = self.refused(request, admitted=lambda: self._admitted(request, tenant))
        if refused is not None:
            return refused
        return json_response([{"name": name} for name in sorted(self.executors[tenant].actions)])


def create_app(server: ActionServer, *, name: str = "webhook_actions") -> Sanic[Any, Any]:
    """The Sanic application serving ``server``."""
    app: Sanic[Any, Any] = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.config.MOTD = False
    app.config.FALLBACK_ERROR_FORMAT = "json"

    async def tenant_webhook(request: Request, tenant: str) -> HTTPResponse:
        return await server.handle(request, tenant)

    async def default_webhook(request: Request) -> HTTPResponse:
        if not server.default_tenant:
            return _error(404, "no_default_tenant", "set WEBHOOKS_DEFAULT_TENANT to use /webhook")
        return await server.handle(request, server.default_tenant)

    async def tenant_actions(request: Request, tenant: str) -> HTTPResponse:
        return server.actions(request, tenant)

    async def tenant_routing(request: Request, tenant: str) -> HTTPResponse:
        return server.routing(request, tenant)

    async def default_actions(request: Request) -> HTTPResponse:
        if not server.default_tenant:
            return _error(404, "no_default_tenant", "set WEBHOOKS_DEFAULT_TENANT to use /actions")
        return server.actions(request, server.default_tenant)

    async def health(request: Request) -> HTTPResponse:
        # Minimal for anyone who can reach it: alive, and how far its cache has come (the sum
        # of the tenants' change versions, which grows with every change seen). Tenants and
        # actions are in /metrics, behind its token.
        return json_response({"status": "ok", "version": server.registry.version()})

    async def metrics(request: Request) -> HTTPResponse:
        if server.metrics_token is None:
            return _error(404, "metrics_off", "set WEBHOOKS_METRICS_TOKEN to serve /metrics")
        token = server.metrics_token
        refused = server.refused(
            request,
            admitted=lambda: bearer_matches(request.headers.get("authorization"), token),
            message="send Authorization: Bearer <metrics token>",
        )
        if refused is not None:
            if refused.status == 401:
                refused.headers["WWW-Authenticate"] = "Bearer"
            return refused
        return raw(server.metrics.render(server.registry), content_type=METRICS_CONTENT_TYPE)

    app.add_route(tenant_webhook, "/tenants/<tenant:str>/webhook", methods=["POST"])
    app.add_route(default_webhook, "/webhook", methods=["POST"])
    app.add_route(tenant_actions, "/tenants/<tenant:str>/actions", methods=["GET"])
    app.add_route(default_actions, "/actions", methods=["GET"])
    app.add_route(tenant_routing, "/tenants/<tenant:str>/routing", methods=["GET"])
    app.add_route(health, "/health", methods=["GET"])
    app.add_route(metrics, "/metrics", methods=["GET"])

    async def on_error(request: Request, exc: Exception) -> HTTPResponse:
        status = getattr(exc, "status_code", 500)
        if isinstance(status, int) and 400 <= status < 500:
            return _error(status, "bad_request", "the request could not be served")
        # The type only: an exception's text could carry anything from the tracker.
        logger.error("unexpected %s while serving %s", type(exc).__name__, request.path)
        return _error(500, "internal_error", "internal error; see the action server log")

    app.error_handler.add(Exception, on_error)

    @app.before_server_start
    async def _start(app: Sanic[Any, Any]) -> None:
        # On the loop's thread, where claims are made in place: opened now, not mid-request.
        server.calls.claims.open_in_place()
        app.add_task(server.registry.run(), name="registry-refresh")

    @app.after_server_stop
    async def _stop(app: Sanic[Any, Any]) -> None:
        await server.egress.aclose()

    return app


def build(settings: Settings, store: Store) -> ActionServer:
    """An action server for ``settings``: the egress with the deployment's rules and CA."""
    server = ActionServer(
        store,
        egress_for(settings),
        default_tenant=settings.default_tenant,
        refresh_interval=settings.refresh_interval,
        metrics_token=settings.metrics_token,
        auth_failures=settings.auth_failures,
    )
    server.registry.load()
    return server
