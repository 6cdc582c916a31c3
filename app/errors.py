"""One error shape for everything: RFC 9457 `application/problem+json`.

Services raise `AppError` subclasses; the handlers here turn those, validation errors,
unknown routes, wrong methods and crashes into the same JSON body with a stable `code`.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.error_codes import ErrorCode, field_code
from app.metrics import DB_ERRORS

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://consulta.dev/problems/"


class AppError(Exception):
    status: int = 400
    code: ErrorCode = ErrorCode.BAD_REQUEST
    title: str = "Bad request"
    # Most errors undo the request's writes; a few are outcomes whose writes must persist
    # (e.g. revoking a token family when a rotated refresh token is replayed).
    keep_changes: bool = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: ErrorCode | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.title
        if code:
            self.code = code
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(self.detail)


class BadRequest(AppError):
    pass


class Unauthorized(AppError):
    status = 401
    code = ErrorCode.UNAUTHORIZED
    title = "Authentication required"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: ErrorCode | None = None,
        error: str = "invalid_token",
    ) -> None:
        super().__init__(
            detail,
            code=code,
            headers={"WWW-Authenticate": f'Bearer realm="consulta", error="{error}"'},
        )


class Forbidden(AppError):
    status = 403
    code = ErrorCode.FORBIDDEN
    title = "Forbidden"


class NotFound(AppError):
    status = 404
    code = ErrorCode.NOT_FOUND
    title = "Not found"


class Conflict(AppError):
    status = 409
    code = ErrorCode.CONFLICT
    title = "Conflict"


class PreconditionFailed(AppError):
    status = 412
    code = ErrorCode.PRECONDITION_FAILED
    title = "Precondition failed"


class PayloadTooLarge(AppError):
    status = 413
    code = ErrorCode.PAYLOAD_TOO_LARGE
    title = "Request body too large"


class Unprocessable(AppError):
    status = 422
    code = ErrorCode.VALIDATION_ERROR
    title = "Invalid request"


class PreconditionRequired(AppError):
    status = 428
    code = ErrorCode.PRECONDITION_REQUIRED
    title = "Precondition required"


class RateLimited(AppError):
    status = 429
    code = ErrorCode.RATE_LIMITED
    title = "Too many requests"

    def __init__(
        self, detail: str | None = None, *, retry_after: int, code: ErrorCode | None = None
    ) -> None:
        super().__init__(detail, code=code, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = retry_after


# RFC 3986 `pchar` and "/": what a path may hold unescaped. Anything else — spaces, "%",
# non-ASCII letters, quotes — is percent-encoded (UTF-8), so `instance` is always a valid
# `uri-reference` whatever path the client sent.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def uri_reference(path: str) -> str:
    """A request path (as decoded by the server) as a URI reference."""
    return quote(path, safe=_PATH_SAFE, errors="backslashreplace")


FieldError = dict[str, Any]


def field_error(loc: Sequence[str | int], msg: str, code: ErrorCode) -> FieldError:
    """One entry of a problem's `errors`: where (`loc`), what (`msg`, for people) and the
    kind of mistake (`code`). The one constructor of field errors: services build them
    through `app/services/validation.py`, which uses this."""
    return {"loc": list(loc), "msg": msg, "code": code}


def problem_response(
    status: int,
    code: ErrorCode,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = uri_reference(instance)
    if errors is not None:
        body["errors"] = list(errors)
    if extra:
        body.update(extra)
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON
    )


# NUL (U+0000) cannot be stored in PostgreSQL text or jsonb. The request middleware
# rejects it at the edge; the database error handler below is the safety net.
INVALID_CHARACTER = ErrorCode.INVALID_CHARACTER
_INVALID_CHARACTER_TITLE = "Invalid character"
_INVALID_CHARACTER_MSG = "must not contain NUL characters (U+0000)"
# character_not_in_repertoire (text with 0x00), untranslatable_character (jsonb \u0000).
_NUL_SQLSTATES = frozenset({"22021", "22P05"})


def invalid_character_response(
    instance: str | None, locs: Sequence[Sequence[str | int]] | None = None
) -> JSONResponse:
    """422 `invalid_character`, with one entry in `errors` per offending location."""
    errors = (
        [field_error(loc, _INVALID_CHARACTER_MSG, INVALID_CHARACTER) for loc in locs]
        if locs
        else None
    )
    return problem_response(
        422,
        INVALID_CHARACTER,
        _INVALID_CHARACTER_TITLE,
        "The request contains a NUL character (U+0000), which is not accepted.",
        instance=instance if instance and "\x00" not in instance else None,
        errors=errors,
    )


def _loc(loc: Sequence[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        exc.status,
        exc.code,
        exc.title,
        exc.detail,
        instance=request.url.path,
        errors=exc.errors,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": _loc(e.get("loc", ())),
            "msg": str(e.get("msg", "")),
            "code": field_code(str(e.get("type", ""))),
        }
        for e in exc.errors()
    ]
    n = len(errors)
    return problem_response(
        422,
        ErrorCode.VALIDATION_ERROR,
        "Invalid request",
        f"The request has {n} invalid field{'s' if n != 1 else ''}.",
        instance=request.url.path,
        errors=errors,
    )


_HTTP_CODES: dict[int, tuple[ErrorCode, str]] = {
    400: (ErrorCode.BAD_REQUEST, "Bad request"),
    401: (ErrorCode.UNAUTHORIZED, "Authentication required"),
    403: (ErrorCode.FORBIDDEN, "Forbidden"),
    404: (ErrorCode.NOT_FOUND, "Not found"),
    405: (ErrorCode.METHOD_NOT_ALLOWED, "Method not allowed"),
    406: (ErrorCode.NOT_ACCEPTABLE, "Not acceptable"),
    413: (ErrorCode.PAYLOAD_TOO_LARGE, "Request body too large"),
    415: (ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
}


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method of every route whose path matches the request's, in the usual order.

    The router answers 405 with the methods of the first route matching the path only;
    `/v1/me` is three routes (GET, PATCH, DELETE) sharing one path. HEAD is listed only
    wherever GET is: `app/conventions.py` answers HEAD on every GET.
    """
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        route_methods = route.methods
        if not route_methods:
            continue  # mounts and websockets
        match, _ = route.matches(request.scope)
        if match in (Match.FULL, Match.PARTIAL):
            methods.update(route_methods)
    if "GET" in methods:
        methods.add("HEAD")
    rank = {method: i for i, method in enumerate(_METHOD_ORDER)}
    return sorted(methods, key=lambda m: (rank.get(m, len(rank)), m))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, title = _HTTP_CODES.get(exc.status_code, (ErrorCode.HTTP_ERROR, "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else title
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and detail == "Not Found":
        detail = "No resource at this address."
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        if allowed:
            listed = ", ".join(allowed)
            headers["Allow"] = listed
            detail = f"This resource does not accept {request.method}; it accepts {listed}."
        elif detail == "Method Not Allowed":
            detail = f"This resource does not accept {request.method}."
    return problem_response(
        exc.status_code, code, title, detail, instance=request.url.path, headers=headers
    )


def _sqlstate(exc: DBAPIError) -> str | None:
    """The PostgreSQL error code, from SQLAlchemy's wrapper or the driver's exception."""
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


# The database cannot be reached or refuses connections: connection exceptions (class 08),
# shutting down or starting up (57P01-57P03), too many connections (53300).
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_DRIVER_MODULES = ("asyncpg", "sqlalchemy")
DATABASE_RETRY_AFTER = 5


def _raised_by_the_driver(exc: BaseException) -> bool:
    return any(
        str(frame.f_globals.get("__name__", "")).startswith(_DRIVER_MODULES)
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the database is unreachable or saturated,
    rather than that the request or the code is wrong: no free pooled connection, a
    refused or dropped connection, a server shutting down or starting up."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, PoolTimeout):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        state = _sqlstate(current) if isinstance(current, DBAPIError) else None
        state = state or getattr(current, "sqlstate", None)
        if isinstance(state, str) and (state.startswith("08") or state in _UNAVAILABLE_SQLSTATES):
            return True
        if type(current).__module__.startswith("asyncpg") and "connection" in str(current).lower():
            return True  # asyncpg's InterfaceError: "connection is closed", …
        # Refused, reset, unreachable or timed out while the driver was connecting.
        if isinstance(current, OSError) and _raised_by_the_driver(current):
            return True
        current = current.__cause__ or current.__context__
    return False


# A statement cancelled by statement_timeout (query_canceled) or lock_timeout.
_TIMEOUT_SQLSTATES = frozenset({"57014", "55P03"})


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def is_database_timeout(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) is a statement the database cancelled because
    it ran past DATABASE_STATEMENT_TIMEOUT_MS (or a lock wait past lock_timeout)."""
    for current in _causes(exc):
        state = _sqlstate(current) if isinstance(current, DBAPIError) else None
        state = state or getattr(current, "sqlstate", None)
        if isinstance(state, str) and state in _TIMEOUT_SQLSTATES:
            return True
    return False


def database_unavailable_response(instance: str | None) -> JSONResponse:
    return problem_response(
        503,
        ErrorCode.DATABASE_UNAVAILABLE,
        "Service unavailable",
        "The service cannot reach its database right now; try again in a few seconds.",
        instance=instance,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


def database_problem(exc: BaseException, instance: str | None) -> JSONResponse | None:
    """The 503 for a database that is saturated, too slow or unreachable (each with
    Retry-After and its own code), or None when `exc` is not one of those. The request's
    transaction is rolled back in every case: nothing is half-written."""
    if any(isinstance(current, PoolTimeout) for current in _causes(exc)):
        code, detail = (
            ErrorCode.SERVICE_BUSY,
            "Every database connection is busy; try again in a few seconds.",
        )
    elif is_database_timeout(exc):
        code, detail = (
            ErrorCode.DATABASE_TIMEOUT,
            "The request took too long in the database and was cancelled; try again later.",
        )
    elif is_database_unavailable(exc):
        DB_ERRORS.labels(ErrorCode.DATABASE_UNAVAILABLE.value).inc()
        return database_unavailable_response(instance)
    else:
        return None
    DB_ERRORS.labels(code.value).inc()
    return problem_response(
        503,
        code,
        "Service unavailable",
        detail,
        instance=instance,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A NUL that slipped past the request check is the client's fault, not a crash; a
    database that cannot be reached, is saturated or cancelled a statement that ran too
    long is a 503. Any other database error goes on to the crash handler, as before."""
    assert isinstance(exc, DBAPIError)
    response = _database_problem(request, exc)
    if response is not None:
        return response
    if _sqlstate(exc) in _NUL_SQLSTATES:
        logger.warning(
            "NUL character reached the database on %s %s", request.method, request.url.path
        )
        return invalid_character_response(request.url.path)
    raise exc


def _database_problem(request: Request, exc: Exception) -> JSONResponse | None:
    """The service is unavailable, not broken; a retry shortly after is the right
    reaction (and a 5xx releases an Idempotency-Key). Recovery needs no restart: the pool
    pings a connection that sat idle before use, and a disconnect
    invalidates the pool, so it reconnects (`app/db.py`, `_ping_if_idle`)."""
    response = database_problem(exc, request.url.path)
    if response is not None:
        logger.warning(
            "database problem on %s %s: %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
            exc,
        )
    return response


async def _pool_timeout(request: Request, exc: Exception) -> JSONResponse:
    response = _database_problem(request, exc)
    assert response is not None
    return response


async def _crash(request: Request, exc: Exception) -> JSONResponse:
    response = _database_problem(request, exc)
    if response is not None:
        return response
    # Logged with the traceback; the client only learns that it was our fault.
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        ErrorCode.INTERNAL_ERROR,
        "Internal server error",
        "Something went wrong on our side. The request id identifies it in our logs.",
        instance=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeout, _pool_timeout)
    app.add_exception_handler(Exception, _crash)
