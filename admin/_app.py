"""The admin HTTP API on Sanic: operators manage their tenant's webhook actions.

Every route is under ``/api/v1``. The tenant is always the authenticated operator's own; no
route takes a tenant from the request. The store is synchronous, so handlers call it in a worker
thread and the event loop stays free.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, empty
from sanic.response import json as json_response

from webhooks import (
    DEFAULT_AUTH_FAILURES,
    MANAGE,
    MAX_ID,
    MAX_NAME_LENGTH,
    MAX_OPERATOR_NAME,
    NAME_PATTERN,
    NAME_RULE,
    READ,
    TOOL_SHAPES,
    AuthFailures,
    CallFailed,
    CallFailure,
    CallPause,
    Category,
    FieldError,
    HTTPStatusError,
    InvalidDefinition,
    NotFound,
    Operator,
    PermissionDenied,
    SigningSecret,
    Store,
    StoreUnavailable,
    TemplateFailed,
    Tenant,
    Throttle,
    Throttled,
    Unauthenticated,
    Value,
    Webhook,
    actor_of,
    bearer_token,
    call_arguments,
    failure_text,
    render_template,
    success_text,
    template_data,
    template_problem,
    tools_of,
)
from webhooks import LastTest as StoredTest

from ._console import add_console
from ._errors import ApiError, handle_exception
from ._openapi import ROUTES, openapi_document
from ._requests import body_of, int_arg, model_of, moment_arg, text_arg
from ._schemas import (
    AuditOut,
    AuditPage,
    BudgetIn,
    BudgetOut,
    LastTest,
    MeOut,
    NewSigningSecret,
    NewToken,
    OperatorIn,
    OperatorList,
    OperatorOut,
    Paused,
    PermissionsIn,
    PreviewIn,
    PreviewOut,
    Revoked,
    SkillIn,
    SkillOut,
    TestIn,
    TestOut,
    ToolList,
    ToolsToken,
    ToolsTokenIn,
    ToolsTokenRevoked,
    WebhookOut,
)
from ._tester import TEST_WINDOW, TESTS_PER_WINDOW, Tester, shown_failure

__all__ = ["MAX_BODY_BYTES", "create_app"]

logger = logging.getLogger("admin")

#: A definition with every field at its maximum stays far below this.
MAX_BODY_BYTES = 256 * 1024
T = TypeVar("T")
#: How many definitions, as operators see them, an admin server keeps made (:class:`_Shown`):
#: as many as the store keeps listed (1,000 tenants' lists of at most 10 actions).
SHOWN_KEPT = 10_000
_names = itertools.count(1)


def _out(model: BaseModel, status: int = 200) -> HTTPResponse:
    return json_response(model.model_dump(mode="json"), status=status)


def _shown_once(model: BaseModel) -> HTTPResponse:
    response = _out(model, status=201)
    # A token or secret is shown once: no cache between here and the operator may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def _new_token(operator: Operator, token: str) -> HTTPResponse:
    return _shown_once(NewToken(operator=OperatorOut.of(operator), token=token))


def _signing_message(name: str, older: Sequence[str]) -> str:
    """What a new signing secret of the action ``name`` means, beside the ``older`` ones."""
    shown = (
        "This secret is shown once: copy it now, it cannot be read again. Receivers verify "
        "the webhook-signature header of each call with it."
    )
    if not older:
        return f"{shown} Every call of {name} is now signed with it."
    return (
        f"{shown} Every call of {name} is now signed with it and with the older secret "
        f"{older[0]} until that one is retired: give receivers this one, then retire {older[0]}."
    )


@dataclass(frozen=True, slots=True)
class _Looks:
    """What the store keeps beside the definitions for operators to look at, read in the same
    request (on PostgreSQL not in the same snapshot: a Test or pause of that moment): each
    action's last Test and the pause of its calls."""

    tests: dict[str, StoredTest]
    pauses: dict[str, CallPause]

    def beside(self, name: str, shown: dict[str, Any]) -> dict[str, Any]:
        """``shown``, a dumped :class:`WebhookOut` (without looks, as :class:`_Shown` keeps
        them), with the action's last Test and pause."""
        test, pause = self.tests.get(name), self.pauses.get(name)
        if test is None and pause is None:
            return shown
        return shown | {
            "last_test": None if test is None else LastTest.of(test).model_dump(mode="json"),
            "paused": None if pause is None else Paused.of(pause).model_dump(mode="json"),
        }


class _Shown:
    """Definitions as operators see them (:class:`WebhookOut`, without the looks, dumped for
    JSON), each made once and kept by its record's identity.

    The store hands out the same :class:`~webhooks.Webhook` records while a tenant's
    definitions stand (``store.catalog.list``), and a record never changes: a changed
    definition is a new record. So a record listed again costs a lookup instead of pydantic's
    validation and dump (a third of a list's CPU: py-spy on ``python -m bench admin``). At most
    :data:`SHOWN_KEPT` are kept, the oldest made leaving first; each entry holds its record, so
    no other object can take its identity while it is kept.
    """

    def __init__(self, limit: int = SHOWN_KEPT) -> None:
        self._limit = limit
        self._made: dict[tuple[int, bool], tuple[Webhook, dict[str, Any]]] = {}

    def __call__(self, webhook: Webhook, *, mask_query: bool) -> dict[str, Any]:
        key = (id(webhook), mask_query)
        made = self._made.get(key)
        if made is not None and made[0] is webhook:
            return made[1]
        shown = WebhookOut.of(webhook, mask_query=mask_query).model_dump(mode="json")
        if len(self._made) >= self._limit:
            # The store's threads share it: another may have just removed the same entry.
            with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                del self._made[next(iter(self._made))]
        self._made[key] = (webhook, shown)
        return shown


class AdminApi:
    """The route handlers, bound to one store and one tester."""

    def __init__(
        self, store: Store, tester: Tester, *, auth_failures: int = DEFAULT_AUTH_FAILURES
    ) -> None:
        self.store = store
        self.tester = tester
        self.failures = AuthFailures("admin", limit=auth_failures)
        self.tests = Throttle(limit=TESTS_PER_WINDOW, window=TEST_WINDOW)
        self._running_tests: set[asyncio.Future[TestOut]] = set()
        self._shown = _Shown()
        # The store's work runs in these threads. SQLite's is CPU under the GIL, so more
        # threads only contend (bench admin: 1,065 lists/s with one, 868 with six); a server
        # database's waits on the network, so a few overlap the round trips.
        self._executor = ThreadPoolExecutor(
            max_workers=2 if store.engine.dialect.name == "sqlite" else 4,
            thread_name_prefix="admin-store",
        )

    def close(self) -> None:
        """Let the store's threads end once their work is done."""
        self._executor.shutdown(wait=False)

    async def _call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _failed(self, request: Request) -> None:
        """A presented credential did not match: 429 for an address past its failures (a
        right token from the same address still passes: Rasa or a proxy may carry many
        clients' requests), else counted against it."""
        self.failures.check(request.ip)
        self.failures.failed(request.ip, request.path)

    def _token(self, request: Request) -> str:
        header: str = request.headers.get("authorization") or ""
        if not header:
            raise Unauthenticated("no API token: send the header Authorization: Bearer <token>")
        token = bearer_token(header)
        if token is None:
            self._failed(request)
            raise Unauthenticated("the Authorization header must be: Bearer <token>")
        return token

    async def _authenticated(
        self,
        request: Request,
        then: Callable[[Operator], T],
        *,
        permission: str | None = None,
        writes: bool = False,
    ) -> T:
        """``then`` of the request's operator, who must hold ``permission`` when one is named,
        in one worker-thread hop (each hop costs more than the queries); a token the store does
        not know counts against the address.

        What ``then`` reads shares the operator's reading (``Store.reading``: on SQLite one
        transaction; on PostgreSQL each one-statement read sees what was committed when it ran,
        and a read of several statements has its own snapshot); one that ``writes`` runs after
        it, in its own transaction. A request that only reads is tried once more when the
        database connection it met was dead (the database restarted under load): nothing was
        written, and the store's connections from before are replaced by then.
        """
        token = self._token(request)

        def run() -> T:
            with self.store.reading():
                operator = self.store.accounts.authenticate(token)
                if permission is not None:
                    self.store.accounts.require(operator, permission)
                if not writes:
                    return then(operator)
            return then(operator)

        def run_reads() -> T:
            try:
                return run()
            except StoreUnavailable as exc:
                if not exc.connection_lost:
                    raise
            return run()

        try:
            return await self._call(run if writes else run_reads)
        except Unauthenticated:
            self._failed(request)
            raise

    async def operator(self, request: Request) -> Operator:
        return await self._authenticated(request, lambda operator: operator)

    async def allowed(self, request: Request, permission: str) -> Operator:
        return await self._authenticated(request, lambda operator: operator, permission=permission)

    async def admin(self, request: Request) -> Operator:
        operator = await self.operator(request)
        if not operator.is_admin:
            raise PermissionDenied("only a tenant admin may do this", code="admin_required")
        return operator

    # -- webhooks -------------------------------------------------------------------------

    def _looks(self, tenant: str) -> _Looks:
        """The tenant's last Tests and paused calls: one query, whatever the number of
        actions."""
        return _Looks(*self.store.looks.read(tenant))

    async def list_webhooks(self, request: Request) -> HTTPResponse:
        def listed(operator: Operator) -> dict[str, Any]:  # a WebhookList, dumped
            looks = self._looks(operator.tenant)
            mask = MANAGE not in operator.permissions
            items = [
                looks.beside(w.name, self._shown(w, mask_query=mask))
                for w in self.store.catalog.list(operator.tenant)
            ]
            return {"items": items, "limit": self.store.max_actions}

        return json_response(await self._authenticated(request, listed, permission=READ))

    async def create_webhook(self, request: Request) -> HTTPResponse:
        def create(operator: Operator) -> Webhook:
            data = body_of(request)
            return self.store.catalog.create(operator.tenant, data, actor=actor_of(operator))

        webhook = await self._authenticated(request, create, permission=MANAGE, writes=True)
        return _out(WebhookOut.of(webhook), status=201)

    async def get_webhook(self, request: Request, name: str) -> HTTPResponse:
        def found(operator: Operator) -> dict[str, Any]:  # a WebhookOut, dumped
            webhook = self.store.catalog.get(operator.tenant, name)
            mask = MANAGE not in operator.permissions
            return self._looks(operator.tenant).beside(name, self._shown(webhook, mask_query=mask))

        return json_response(await self._authenticated(request, found, permission=READ))

    async def replace_webhook(self, request: Request, name: str) -> HTTPResponse:
        return await self._update(request, name, replace=True)

    async def patch_webhook(self, request: Request, name: str) -> HTTPResponse:
        return await self._update(request, name, replace=False)

    async def _update(self, request: Request, name: str, *, replace: bool) -> HTTPResponse:
        def update(operator: Operator) -> dict[str, Any]:  # a WebhookOut, dumped
            webhook = self.store.catalog.update(
                operator.tenant, name, body_of(request), replace=replace, actor=actor_of(operator)
            )
            shown = WebhookOut.of(webhook).model_dump(mode="json")  # a new record: not kept
            return self._looks(operator.tenant).beside(name, shown)

        return json_response(
            await self._authenticated(request, update, permission=MANAGE, writes=True)
        )

    async def delete_webhook(self, request: Request, name: str) -> HTTPResponse:
        def delete(operator: Operator) -> None:
            self.store.catalog.delete(operator.tenant, name, actor=actor_of(operator))

        await self._authenticated(request, delete, permission=MANAGE, writes=True)
        return empty(status=204)

    async def test_webhook(self, request: Request, name: str) -> HTTPResponse:
        operator = await self.allowed(request, MANAGE)
        wanted: TestIn = model_of(TestIn, body_of(request)) if request.body else TestIn()
        webhook = await self._call(self.store.catalog.get, operator.tenant, name)
        arguments = (
            {} if wanted.values is None else call_arguments(webhook.parameters, wanted.values)
        )
        self._count_test(operator)
        # Shielded: an operator who closes the connection mid-Test (Sanic then cancels this
        # handler) still leaves the Test, which went out, in the audit log.
        task = asyncio.ensure_future(self._run_test(operator, webhook, arguments))
        self._running_tests.add(task)
        task.add_done_callback(self._running_tests.discard)
        return _out(await asyncio.shield(task))

    async def _run_test(
        self, operator: Operator, webhook: Webhook, arguments: Mapping[str, Value]
    ) -> TestOut:
        """Send the Test and record its outcome (kept on the action and in the audit log)."""
        name = webhook.name
        headers = self.store.catalog.headers_for(webhook)
        try:
            outcome = await self.tester.test(
                webhook,
                headers,
                tenant=operator.tenant,
                arguments=arguments,
                signer=self.store.signing.signer_for(webhook),
            )
        except CallFailed as exc:
            category, message = shown_failure(exc)
            # An address the Test may not name is, to a conversation, a service unavailable.
            said = Category.of(exc.category) if category == exc.category else Category.UNAVAILABLE
            reply = failure_text(webhook, CallFailure(said), arguments)
            result = TestOut(ok=False, category=category, message=message, reply=reply)
        else:
            if outcome.ok:
                reply = success_text(
                    webhook,
                    arguments,
                    outcome.data,
                    status=outcome.status,
                    truncated=outcome.truncated,
                )
            else:
                failed = Category.of(HTTPStatusError(outcome.status).category)
                reply = failure_text(
                    webhook, CallFailure(failed, outcome.status, outcome.data), arguments
                )
            result = TestOut.of(outcome).model_copy(update={"reply": reply})
        record = StoredTest(
            at=datetime.now(UTC),
            ok=result.ok,
            status=result.status,
            category=result.category,
            elapsed_ms=result.elapsed_ms,
        )
        # Deleted while its Test ran: the outcome is still what happened (and audited), with
        # nothing to keep it on.
        with contextlib.suppress(NotFound):
            await self._call(
                self.store.tests.record, operator.tenant, name, record, actor=actor_of(operator)
            )
        return result

    async def create_signing_secret(self, request: Request, name: str) -> HTTPResponse:
        operator = await self.allowed(request, MANAGE)

        def create() -> tuple[SigningSecret, str, list[str]]:
            # The older secrets are read first: once the new one is made, nothing may stand
            # between it and the answer that shows it (a failed read would leave a secret
            # that signs every call and that nobody has seen).
            before = self.store.catalog.get(operator.tenant, name)
            made, secret = self.store.signing.create(
                operator.tenant, name, actor=actor_of(operator)
            )
            return made, secret, [s.id for s in before.signing_secrets]

        made, secret, older = await self._call(create)
        return _shown_once(
            NewSigningSecret(
                id=made.id,
                secret=secret,
                created_at=made.created_at,
                message=_signing_message(name, older),
            )
        )

    async def retire_signing_secret(
        self, request: Request, name: str, secret_id: str
    ) -> HTTPResponse:
        operator = await self.allowed(request, MANAGE)
        # No NUL for PostgreSQL to choke on: a path with a control character is refused by the
        # parser, and Sanic leaves a segment's %-escapes as sent.
        await self._call(
            self.store.signing.retire,
            operator.tenant,
            name,
            secret_id,
            actor=actor_of(operator),
        )
        return empty(status=204)

    def _count_test(self, operator: Operator) -> None:
        """Count a Test that will send a request: a bound on how fast one operator can probe
        hosts and ports through the Test (each Test reaching out also takes the time of one
        that found nothing; see Tester)."""
        wait = self.tests.retry_after(operator.id)
        if wait:
            raise Throttled(
                f"at most {TESTS_PER_WINDOW} Tests a minute; retry after {wait} seconds",
                code="too_many_tests",
                retry_after=wait,
            )
        self.tests.record(operator.id)

    # -- me, skill, operators, audit ------------------------------------------------------

    async def preview_reply(self, request: Request) -> HTTPResponse:
        await self.allowed(request, READ)
        wanted: PreviewIn = model_of(PreviewIn, body_of(request))
        problem = template_problem(wanted.template)
        if problem is not None:
            raise InvalidDefinition([FieldError("template", problem, "invalid_template")])
        data = template_data(wanted.values, result=wanted.result, status=wanted.status)
        try:
            rendered = render_template(wanted.template, data)
        except TemplateFailed as exc:
            raise InvalidDefinition(
                [
                    FieldError(
                        "template",
                        f"{exc.reason}; the bot would say its default reply",
                        "template_failed",
                    )
                ]
            ) from None
        return _out(
            PreviewOut(text=rendered.text, cut=rendered.cut, missing=list(rendered.missing))
        )

    async def me(self, request: Request) -> HTTPResponse:
        def read(operator: Operator) -> tuple[Operator, Tenant]:
            return operator, self.store.accounts.get_tenant(operator.tenant)

        operator, tenant = await self._authenticated(request, read)
        return _out(MeOut.of(operator, tenant))

    async def get_skill(self, request: Request) -> HTTPResponse:
        operator = await self.admin(request)
        return _out(SkillOut.of(await self._call(self.store.accounts.get_tenant, operator.tenant)))

    async def put_skill(self, request: Request) -> HTTPResponse:
        operator = await self.admin(request)
        wanted: SkillIn = model_of(SkillIn, body_of(request))
        tenant = await self._call(
            self.store.accounts.set_skill, operator.tenant, wanted.enabled, actor=actor_of(operator)
        )
        return _out(SkillOut.of(tenant))

    async def get_budget(self, request: Request) -> HTTPResponse:
        operator = await self.admin(request)
        return _out(BudgetOut.of(await self._call(self.store.accounts.get_tenant, operator.tenant)))

    async def put_budget(self, request: Request) -> HTTPResponse:
        operator = await self.admin(request)
        wanted: BudgetIn = model_of(BudgetIn, body_of(request))
        tenant = await self._call(
            self.store.budgets.set_calls_per_minute,
            operator.tenant,
            wanted.calls_per_minute,
            actor=actor_of(operator),
        )
        return _out(BudgetOut.of(tenant))

    async def list_operators(self, request: Request) -> HTTPResponse:
        operator = await self.admin(request)
        operators = await self._call(self.store.accounts.list_operators, operator.tenant)
        return _out(OperatorList(items=[OperatorOut.of(o) for o in operators]))

    async def create_operator(self, request: Request) -> HTTPResponse:
        operator = await self.admin(request)
        wanted: OperatorIn = model_of(OperatorIn, body_of(request))
        created, token = await self._call(
            self.store.accounts.create_operator,
            operator.tenant,
            wanted.name,
            permissions=wanted.permissions,
            actor=actor_of(operator),
        )
        return _new_token(created, token)

    async def issue_token(self, request: Request, operator_id: int) -> HTTPResponse:
        operator = await self.admin(request)

        def issue() -> tuple[Operator, str]:
            token = self.store.accounts.issue_token(
                operator.tenant, operator_id, actor=actor_of(operator)
            )
            return self.store.accounts.get_operator(operator.tenant, operator_id), token

        owner, token = await self._call(issue)
        return _new_token(owner, token)

    async def revoke_tokens(self, request: Request, operator_id: int) -> HTTPResponse:
        operator = await self.admin(request)
        count = await self._call(
            self.store.accounts.revoke_tokens,
            operator.tenant,
            operator_id,
            actor=actor_of(operator),
        )
        return _out(Revoked(revoked=count))

    async def put_permissions(self, request: Request, operator_id: int) -> HTTPResponse:
        operator = await self.admin(request)
        wanted: PermissionsIn = model_of(PermissionsIn, body_of(request))
        changed = await self._call(
            self.store.accounts.set_permissions,
            operator.tenant,
            operator_id,
            wanted.permissions,
            actor=actor_of(operator),
        )
        return _out(OperatorOut.of(changed))

    async def list_tools(self, request: Request) -> HTTPResponse:
        operator = await self.allowed(request, READ)
        shape = request.args.get("shape", "mcp")
        if shape not in TOOL_SHAPES:
            raise ApiError(
                422, "invalid", f"shape must be one of: {', '.join(TOOL_SHAPES)}", field="shape"
            )
        webhooks = await self._call(self.store.catalog.list, operator.tenant)
        # allowed() refused a tenant whose skill is off: the tools are its enabled actions.
        tools = [TOOL_SHAPES[shape](w) for w in tools_of(webhooks, skill_enabled=True)]
        return _out(ToolList(shape=shape, tools=tools))

    async def issue_tools_token(self, request: Request) -> HTTPResponse:
        operator = await self.admin(request)
        wanted: ToolsTokenIn = (
            model_of(ToolsTokenIn, body_of(request)) if request.body else ToolsTokenIn()
        )
        token = await self._call(
            self.store.accounts.issue_tools_token,
            operator.tenant,
            actor=actor_of(operator),
            replace=wanted.replace,
        )
        return _out(ToolsToken(tenant=operator.tenant, token=token), status=201)

    async def revoke_tools_token(self, request: Request) -> HTTPResponse:
        operator = await self.admin(request)
        revoked = await self._call(
            self.store.accounts.revoke_tools_token, operator.tenant, actor=actor_of(operator)
        )
        return _out(ToolsTokenRevoked(revoked=revoked))

    async def audit(self, request: Request) -> HTTPResponse:
        operator = await self.allowed(request, READ)
        limit = int_arg(request, "limit", default=50, low=1, high=500)
        before = int_arg(request, "before", default=None, low=1, high=MAX_ID)
        webhook = text_arg(
            request, "webhook", max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN, rule=NAME_RULE
        )
        who = text_arg(
            request,
            "operator",
            max_length=MAX_OPERATOR_NAME,
            rule=f"an operator's name, 1 to {MAX_OPERATOR_NAME} characters",
        )
        since, until = moment_arg(request, "since"), moment_arg(request, "until")
        if since is not None and until is not None and until <= since:
            raise ApiError(422, "invalid", "must be later than since", field="until")
        entries = await self._call(
            self.store.audit,
            operator.tenant,
            limit=limit,
            before_id=before,
            webhook=webhook,
            operator=who,
            since=since,
            until=until,
        )
        next_before = entries[-1].id if len(entries) == limit else None
        return _out(AuditPage(items=[AuditOut.of(e) for e in entries], next_before=next_before))


async def _health(request: Request) -> HTTPResponse:
    return json_response({"status": "ok"})


def create_app(
    store: Store,
    tester: Tester,
    *,
    name: str | None = None,
    auth_failures: int = DEFAULT_AUTH_FAILURES,
) -> Sanic[Any, Any]:
    """The admin API application for ``store``; ``tester`` performs Test calls; an address
    may fail ``auth_failures`` authentications a minute (0: no bound)."""
    app: Sanic[Any, Any] = Sanic(name or f"webhooks_admin_{next(_names)}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.config.MOTD = False
    app.config.FALLBACK_ERROR_FORMAT = "json"
    api = AdminApi(store, tester, auth_failures=auth_failures)
    document = openapi_document()

    async def openapi(request: Request) -> HTTPResponse:
        return json_response(document)

    v1 = Blueprint("v1", url_prefix="/api/v1", strict_slashes=False)
    v1.add_route(_health, "/health", methods=["GET"], name="health")
    v1.add_route(openapi, "/openapi.json", methods=["GET"], name="openapi")
    for route in ROUTES:
        handler = getattr(api, route.handler)
        v1.add_route(handler, route.sanic_path, methods=[route.method], name=route.handler)
    app.blueprint(v1)
    add_console(app)
    app.error_handler.add(Exception, handle_exception)

    @app.after_server_stop
    async def _close(app: Sanic[Any, Any]) -> None:
        await tester.aclose()
        api.close()

    return app
