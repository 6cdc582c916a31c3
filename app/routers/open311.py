"""Open311 GeoReport v2 under /open311/v2/, with the specification's error format.

Errors on `/open311/` paths are GeoReport's `[{"code": <status>, "description": "..."}]`
(JSON) with the HTTP status — 400 for a missing or invalid field (our 422s too), 403 for
a missing or bad `api_key` (and a bad bearer token), 404 for an unknown jurisdiction,
service or request — instead of the problem+json used everywhere else.
"""

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.db import SessionDep
from app.deps import OptionalUser
from app.errors import AppError
from app.models.service_requests import (
    Open311Created,
    Open311Definition,
    Open311Error,
    Open311Request,
    Open311Service,
    Open311Token,
)
from app.services.service_requests import open311

logger = logging.getLogger(__name__)
PREFIX = "/open311/"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": list[Open311Error], "description": what}
    for code, what in (
        (400, "A required field is missing or a value is invalid (GeoReport error list)."),
        (403, "The api_key (or bearer token) is missing, invalid or revoked."),
        (404, "No such jurisdiction, service or request."),
    )
}

router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=_ERRORS)

Jurisdiction = Annotated[
    str | None, Query(max_length=63, description="The organization's slug, e.g. `cm-bari`.")
]


@router.get(
    "/services.json",
    response_model=list[Open311Service],
    summary="GeoReport v2 service list of a jurisdiction (public)",
)
async def services(
    session: SessionDep, jurisdiction_id: Jurisdiction = None
) -> list[Open311Service]:
    return await open311.services(session, jurisdiction_id)


@router.get(
    "/services/{service_code}.json",
    response_model=Open311Definition,
    summary="GeoReport v2 service definition: its extra attributes (public)",
)
async def service_definition(
    session: SessionDep, service_code: str, jurisdiction_id: Jurisdiction = None
) -> Open311Definition:
    return await open311.definition(session, jurisdiction_id, service_code)


@router.post(
    "/requests.json",
    response_model=list[Open311Created],
    status_code=201,
    summary="GeoReport v2: file a service request (a client with the organization's "
    "api_key, or a signed-in person)",
    description="""Form-encoded (`application/x-www-form-urlencoded`) as GeoReport v2
specifies: `jurisdiction_id`, `service_code`, `description` (up to 4000 characters),
`lat` and `long` or `address_string` (required when the service says so), `address_id`,
`email`, `first_name`, `last_name`, `phone`, `device_id`, `account_id`, `media_url`,
`attribute[code]=value` (`attribute[code][]=value` repeated for multi-value lists) and
`api_key`. Without `api_key`, a bearer token of a signed-in person. Every problem is
listed (400); nothing is stored on error. The request is created at once: the answer
carries its `service_request_id` and a `token`.""",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "additionalProperties": {"type": "string"}}
                }
            },
        }
    },
)
async def create_request(
    session: SessionDep, user: OptionalUser, request: Request
) -> list[Open311Created]:
    form = await request.form()
    return await open311.create_request(session, user, list(form.multi_items()))


@router.get(
    "/requests.json",
    response_model=list[Open311Request],
    summary="GeoReport v2: public status of requests, newest first (public; never the "
    "reporter's personal data)",
    description="Filters: `service_request_id` (comma-separated; overrides the others but "
    "`service_code` and `status`), `service_code` (comma-separated), `start_date`, "
    "`end_date` (W3C date-times), `status` (`open`, `closed` or both). Without dates: the "
    "last 90 days. At most 1000 requests.",
)
async def list_requests(
    session: SessionDep,
    jurisdiction_id: Jurisdiction = None,
    service_request_id: Annotated[str | None, Query(max_length=4000)] = None,
    service_code: Annotated[str | None, Query(max_length=1000)] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> list[Open311Request]:
    return await open311.list_requests(
        session,
        jurisdiction_id=jurisdiction_id,
        service_request_id=service_request_id,
        service_code=service_code,
        start_date=start_date,
        end_date=end_date,
        status=status,
    )


@router.get(
    "/requests/{service_request_id}.json",
    response_model=list[Open311Request],
    summary="GeoReport v2: one request's public status (public)",
)
async def get_request(
    session: SessionDep, service_request_id: str, jurisdiction_id: Jurisdiction = None
) -> list[Open311Request]:
    return await open311.get_request(session, jurisdiction_id, service_request_id)


@router.get(
    "/tokens/{token}.json",
    response_model=list[Open311Token],
    summary="GeoReport v2: the request id for a token (public)",
)
async def token(
    session: SessionDep, token: str, jurisdiction_id: Jurisdiction = None
) -> list[Open311Token]:
    return await open311.request_for_token(session, jurisdiction_id, token)


# --- the GeoReport error format -------------------------------------------------------


def open311_errors(status: int, descriptions: list[str]) -> JSONResponse:
    return JSONResponse(
        [{"code": status, "description": d} for d in descriptions or ["Error"]],
        status_code=status,
    )


def _from_app_error(exc: AppError) -> JSONResponse:
    status = {422: 400, 401: 403}.get(exc.status, exc.status)
    messages = [str(e.get("msg", "")) for e in exc.errors or []] if exc.errors else []
    if not messages or len(messages) == 1:
        messages = [exc.detail]
    response = open311_errors(status, messages)
    for name, value in exc.headers.items():
        if name.lower() == "retry-after":
            response.headers[name] = value
    return response


def _from_validation(exc: RequestValidationError) -> JSONResponse:
    return open311_errors(
        400,
        [
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}"
            for e in exc.errors()
        ],
    )


Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def _wrap(original: Handler) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith(PREFIX):
            answer = original(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        if isinstance(exc, AppError):
            return _from_app_error(exc)
        if isinstance(exc, RequestValidationError):
            return _from_validation(exc)
        if isinstance(exc, StarletteHTTPException):
            detail = exc.detail if isinstance(exc.detail, str) else "Error"
            if exc.status_code == 404 and detail == "Not Found":
                detail = "No resource at this address."
            return open311_errors(exc.status_code, [detail])
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return open311_errors(500, ["Something went wrong on our side."])

    return handler


def install_open311_errors(app: FastAPI) -> None:
    """Answer errors on `/open311/` paths in GeoReport's format; every other path keeps
    the handlers installed before (problem+json). Call after `install_error_handlers`."""
    for exc_class in (AppError, RequestValidationError, StarletteHTTPException, Exception):
        original = app.exception_handlers[exc_class]
        app.add_exception_handler(exc_class, _wrap(original))
