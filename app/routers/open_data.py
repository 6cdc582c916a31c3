"""Open data: /v1/organizations/{org}/open-data (DCAT-AP_IT catalog) and its datasets."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.responses import StreamingResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.db import SessionDep, get_session
from app.services.open_data import export
from app.services.open_data.datasets import DATASETS

router = APIRouter(prefix="/v1/organizations", tags=["open data"])

# The request's transaction held until the response has been sent (a yield dependency of
# request scope): a dataset streams from a server-side cursor while it is being sent. The
# transaction only reads; its commit after the response is a no-op.
StreamSessionDep = Annotated[AsyncSession, Depends(get_session, scope="request")]
IfNoneMatch = Annotated[
    str | None,
    Header(description="An `ETag` of an earlier answer: 304 if it is still current."),
]
DatasetName = Annotated[
    str,
    Path(description="One of: " + ", ".join(f"`{d}`" for d in DATASETS) + "."),
]
DATASET_LIST = ", ".join(f"`{d}`" for d in DATASETS)
HEADERS: dict[str, Any] = {
    "ETag": {"description": "Weak validator of the representation.", "schema": {"type": "string"}},
    "Last-Modified": {
        "description": "When the organization's data last changed.",
        "schema": {"type": "string"},
    },
    "Cache-Control": {"description": "`public, max-age=…`", "schema": {"type": "string"}},
}
DOWNLOAD_HEADERS = HEADERS | {
    "Content-Disposition": {"description": "`attachment; filename=…`", "schema": {"type": "string"}}
}
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "The copy named by `If-None-Match` is current.", "headers": HEADERS}
}
DATASET_DESCRIPTION = (
    "Anonymous. Datasets: " + DATASET_LIST + ". Only what an anonymous visitor may see "
    "(no drafts, nothing hidden or pending moderation, nothing of private tables, no draft "
    "plans) and no personal data (no authors, user ids, names or emails); CC BY 4.0. "
    "Streamed from a server-side cursor, so memory stays flat whatever the size. Columns "
    "are listed in the catalog's description of each dataset and are the CSV header row. "
    "404 `not_found` for an unknown organization or dataset."
)


def _headers(found: export.Validators, filename: str | None = None) -> dict[str, str]:
    max_age = get_settings().open_data_max_age_seconds
    headers = {
        "ETag": found.etag,
        "Last-Modified": found.last_modified.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Cache-Control": f"public, max-age={max_age}",
    }
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return headers


@router.get(
    "/{org}/open-data",
    response_class=Response,
    responses={
        200: {
            "content": {"application/ld+json": {"schema": {"type": "object"}}},
            "description": "The catalog (DCAT-AP_IT, JSON-LD).",
            "headers": HEADERS,
        },
        **NOT_MODIFIED,
    },
    summary="The organization's open-data catalog, DCAT-AP_IT in JSON-LD (public)",
    description="A `dcatapit:Catalog` of `dcatapit:Dataset`s, each with `dct:identifier` "
    "(`<IPA code>:<dataset>`), Italian `dct:title` and `dct:description`, `dcat:theme` "
    "(EU data themes), `dct:publisher` and `dct:rightsHolder` (a `dcatapit:Agent` with the "
    "organization's `ipa_code`), `dct:accrualPeriodicity`, `dct:modified`, and a CSV and a "
    "JSON Lines `dcat:distribution` (`dcat:downloadURL`, `dct:format`, `dct:license` CC BY "
    "4.0). `ETag`/`If-None-Match` and `Cache-Control: public`.",
)
async def open_data_catalog(
    session: SessionDep, request: Request, org: str, if_none_match: IfNoneMatch = None
) -> Response:
    url = str(request.url_for("open_data_catalog", org=org))
    found, body = await export.open_data_catalog(
        session, org, url, get_settings().public_url, if_none_match
    )
    if body is None:
        return Response(status_code=304, headers=_headers(found))
    return Response(body, media_type="application/ld+json", headers=_headers(found))


def _download(found: export.Download) -> Response:
    headers = _headers(found.validators, found.filename)
    if found.body is None:
        return Response(status_code=304, headers=headers)
    return StreamingResponse(found.body, media_type=found.media_type, headers=headers)


@router.get(
    "/{org}/open-data/{dataset}.csv",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "The dataset as CSV.",
            "headers": DOWNLOAD_HEADERS,
        },
        **NOT_MODIFIED,
    },
    summary="A dataset as CSV (public)",
    description="RFC 4180: UTF-8 with a BOM, CRLF line ends, a header row, fields quoted "
    "when needed, lists joined by `|`; `?delimiter=;` gives the Italian spreadsheet "
    "convention (semicolons, decimal comma), as the progress report. " + DATASET_DESCRIPTION,
)
async def open_data_csv(
    session: StreamSessionDep,
    org: str,
    dataset: DatasetName,
    delimiter: Literal[",", ";"] = ",",
    if_none_match: IfNoneMatch = None,
) -> Response:
    return _download(
        await export.open_data_download(session, org, dataset, "csv", delimiter, if_none_match)
    )


@router.get(
    "/{org}/open-data/{dataset}.jsonl",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/jsonl": {"schema": {"type": "string"}}},
            "description": "The dataset as JSON Lines.",
            "headers": DOWNLOAD_HEADERS,
        },
        **NOT_MODIFIED,
    },
    summary="A dataset as JSON Lines (public)",
    description="One JSON object per line, keys in the CSV's column order, lists as arrays. "
    + DATASET_DESCRIPTION,
)
async def open_data_jsonl(
    session: StreamSessionDep, org: str, dataset: DatasetName, if_none_match: IfNoneMatch = None
) -> Response:
    return _download(
        await export.open_data_download(session, org, dataset, "jsonl", ",", if_none_match)
    )
