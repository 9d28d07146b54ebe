"""Every error the admin API can answer, mapped to HTTP in this one place.

The body is always ``{"error": {"code", "message", "field"}}`` (plus ``errors`` when several
fields are wrong). Nothing here echoes a request body, a header value or a stack trace: an
unexpected exception becomes a bare 500 and one log line naming its type.
"""

from __future__ import annotations

import logging
from typing import Any

from sanic import Request
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse, json

from webhooks import (
    ActionLimitReached,
    AlreadyExists,
    InvalidInput,
    KeyOutdated,
    KeyringError,
    NotFound,
    PermissionDenied,
    SigningSecretLimitReached,
    StoreUnavailable,
    Throttled,
    Unauthenticated,
    WebhookError,
    error_body,
)

__all__ = ["ApiError", "error_response", "handle_exception"]

logger = logging.getLogger("admin")


class ApiError(Exception):
    """An error the API answers as is."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> HTTPResponse:
    body = error_body(code, message, field=field)
    if errors:
        body["errors"] = errors
    return json(body, status=status, headers=headers)


_SANIC_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    414: "uri_too_long",
    416: "range_not_satisfiable",
    417: "expectation_failed",
}


#: The field a missing thing is named by, when not its name: the path's ``{id}``.
_NOT_FOUND_FIELDS = {"signing_secret": "id"}


def _from_core(exc: WebhookError) -> HTTPResponse | None:
    if isinstance(exc, InvalidInput):
        errors = [{"code": e.code, "message": e.message, "field": e.field} for e in exc.errors]
        first = exc.errors[0]
        return error_response(
            422,
            first.code,
            first.message,
            field=first.field,
            errors=errors if len(errors) > 1 else None,
        )
    if isinstance(exc, Unauthenticated):
        return error_response(
            401, "unauthenticated", str(exc), headers={"WWW-Authenticate": "Bearer"}
        )
    if isinstance(exc, Throttled):
        return error_response(
            429, exc.code, str(exc), headers={"Retry-After": str(exc.retry_after)}
        )
    if isinstance(exc, PermissionDenied):
        return error_response(403, exc.code, str(exc))
    if isinstance(exc, NotFound):
        field = _NOT_FOUND_FIELDS.get(exc.kind, "name")
        return error_response(404, f"{exc.kind}_not_found", str(exc), field=field)
    if isinstance(exc, AlreadyExists):
        return error_response(409, "already_exists", str(exc), field="name")
    if isinstance(exc, ActionLimitReached):
        return error_response(409, "action_limit_reached", str(exc))
    if isinstance(exc, SigningSecretLimitReached):
        return error_response(
            409, "signing_secret_limit_reached", str(exc), field="signing_secrets"
        )
    if isinstance(exc, StoreUnavailable):
        return error_response(503, "database_unavailable", str(exc), headers={"Retry-After": "2"})
    if isinstance(exc, KeyOutdated):
        # The server's keys are behind the store's: the operator of the server must act.
        return error_response(503, "key_outdated", str(exc))
    if isinstance(exc, KeyringError):
        return error_response(503, "key_mismatch", str(exc))
    return None


async def handle_exception(request: Request, exc: Exception) -> HTTPResponse:
    """Sanic's catch-all: core errors, our ApiError, Sanic's own HTTP errors, then 500."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message, field=exc.field)
    if isinstance(exc, WebhookError):
        response = _from_core(exc)
        if response is not None:
            return response
    if isinstance(exc, SanicException) and 400 <= exc.status_code < 500:
        status = exc.status_code
        code = _SANIC_CODES.get(status, "bad_request")
        message = {
            404: "no such route",
            405: f"method {request.method} not allowed here",
            413: "request body too large",
        }.get(status, "the request could not be read")
        headers = (
            {"Allow": exc.headers["Allow"]} if status == 405 and "Allow" in exc.headers else None
        )
        return error_response(status, code, message, headers=headers)
    # Only the type: the message of a foreign exception could carry anything.
    logger.error(
        "unexpected %s while serving %s %s", type(exc).__name__, request.method, request.path
    )
    return error_response(500, "internal_error", "internal error; see the server log")
