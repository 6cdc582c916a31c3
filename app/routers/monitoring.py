"""Plan monitoring: indicators, measurements and the progress report."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from app.db import SessionDep
from app.deps import OptionalUser, PlanWriter
from app.models.accounts import LOCALE_PATTERN
from app.models.monitoring import IndicatorCreate, MeasurementCreate, ProgressReport
from app.models.plans import IndicatorPublic, MeasurementPublic
from app.pagination import Page, PageParamsDep
from app.services.plans import monitoring, progress

router = APIRouter(tags=["monitoring"])


@router.get(
    "/v1/plan-nodes/{node_id}/indicators",
    response_model=Page[IndicatorPublic],
    summary="A node's indicators with latest measurement and progress (public; drafts: "
    "organization admin)",
)
async def list_indicators(
    session: SessionDep, user: OptionalUser, node_id: uuid.UUID, page: PageParamsDep
) -> Page[IndicatorPublic]:
    items, cursor = await monitoring.list_indicators(session, user, node_id, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/v1/plan-nodes/{node_id}/indicators",
    response_model=IndicatorPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Attach an indicator to a node (organization admin, clients with plans:write)",
)
async def create_indicator(
    session: SessionDep, user: PlanWriter, node_id: uuid.UUID, body: IndicatorCreate
) -> IndicatorPublic:
    return await monitoring.create_indicator(session, user, node_id, body)


@router.get(
    "/v1/indicators/{indicator_id}",
    response_model=IndicatorPublic,
    summary="One indicator with latest measurement and progress (public; drafts: "
    "organization admin)",
)
async def get_indicator(
    session: SessionDep, user: OptionalUser, indicator_id: uuid.UUID
) -> IndicatorPublic:
    return await monitoring.get_indicator(session, user, indicator_id)


@router.get(
    "/v1/indicators/{indicator_id}/measurements",
    response_model=Page[MeasurementPublic],
    summary="An indicator's measurements, newest first (public; drafts: organization admin)",
)
async def list_measurements(
    session: SessionDep, user: OptionalUser, indicator_id: uuid.UUID, page: PageParamsDep
) -> Page[MeasurementPublic]:
    items, cursor = await monitoring.list_measurements(session, user, indicator_id, page)
    return Page(items=[MeasurementPublic.model_validate(m) for m in items], next_cursor=cursor)


@router.post(
    "/v1/indicators/{indicator_id}/measurements",
    response_model=MeasurementPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Record a measured value with its date and source (organization admin, clients "
    "with plans:write)",
)
async def record_measurement(
    session: SessionDep, user: PlanWriter, indicator_id: uuid.UUID, body: MeasurementCreate
) -> MeasurementPublic:
    return MeasurementPublic.model_validate(
        await monitoring.record_measurement(session, user, indicator_id, body)
    )


_CSV = "text/csv"
_CSV_DESCRIPTION = (
    "UTF-8 CSV with a BOM, a header row and one row per node, titles in `?locale=` when "
    "available, else the organization's default locale. `?delimiter=;` gives the Italian "
    "spreadsheet convention (semicolons, decimal comma)."
)
_CSV_CONTENT = {_CSV: {"schema": {"type": "string"}}}
Locale = Annotated[str | None, Query(pattern=LOCALE_PATTERN)]
Delimiter = Literal[",", ";"]


async def _progress_csv(
    session: SessionDep, user: OptionalUser, plan_id: uuid.UUID, locale: str | None, delimiter: str
) -> Response:
    filename, text = await progress.progress_report_csv(session, user, plan_id, locale, delimiter)
    return Response(
        content=text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/v1/plans/{plan_id}/progress",
    response_model=ProgressReport,
    responses={
        200: {"content": _CSV_CONTENT, "description": "The report; as CSV with `Accept: text/csv`."}
    },
    summary="The monitoring report: progress per node, rolled up; JSON, or CSV with "
    "`Accept: text/csv` (public; drafts: organization admin)",
    description="Indicator progress is how far the latest measurement has gone from "
    "baseline to target (0-100 %, also for decreasing indicators); a node's progress is the "
    "weighted mean of its measured indicators (weight 1 unless set) and of its children "
    "that have a progress (weight 1 each); null when nothing below it is measured. "
    "`Accept: text/csv` (or `GET …/progress.csv`; the older `?format=csv` still works) "
    f"answers the report as CSV: {_CSV_DESCRIPTION}",
)
async def progress_report(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    plan_id: uuid.UUID,
    format: Annotated[Literal["json", "csv"] | None, Query(include_in_schema=False)] = None,
    locale: Locale = None,
    delimiter: Delimiter = ",",
) -> ProgressReport | Response:
    if format == "csv" or (format is None and prefers_csv(request.headers.get("accept"))):
        return await _progress_csv(session, user, plan_id, locale, delimiter)
    return await progress.progress_report(session, user, plan_id)


@router.get(
    "/v1/plans/{plan_id}/progress.csv",
    response_class=Response,
    responses={200: {"content": _CSV_CONTENT, "description": "The report as CSV."}},
    summary="The monitoring report as CSV, one row per node (public; drafts: organization admin)",
    description=_CSV_DESCRIPTION,
)
async def progress_report_csv(
    session: SessionDep,
    user: OptionalUser,
    plan_id: uuid.UUID,
    locale: Locale = None,
    delimiter: Delimiter = ",",
) -> Response:
    return await _progress_csv(session, user, plan_id, locale, delimiter)


def prefers_csv(accept: str | None) -> bool:
    """Whether `Accept` ranks `text/csv` above JSON (absent, `*/*`: JSON)."""
    ranks: dict[str, float] = {}
    for part in (accept or "").split(","):
        media, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranks[media.strip().lower()] = max(quality, ranks.get(media.strip().lower(), 0.0))
    csv = ranks.get(_CSV, 0.0)
    json = max(ranks.get("application/json", 0.0), ranks.get("application/*", 0.0))
    return csv > 0 and csv > json
