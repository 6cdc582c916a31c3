"""Plans and their nodes: /v1/organizations/{org}/plans, /v1/plans/*, /v1/plan-nodes/*."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response, status
from fastapi.responses import JSONResponse

from app.db import SessionDep
from app.deps import OptionalUser, PlanWriter
from app.etag import IfMatch, set_etag
from app.models.plan_import import ImportReport
from app.models.plans import (
    KIND_MAX,
    NodeItem,
    NodePublic,
    NodeTree,
    NodeUpdate,
    PlanPublic,
    PlanSummary,
    PlanUpdate,
)
from app.pagination import Page, PageParamsDep
from app.services.imports import plan_import
from app.services.plans import plan_nodes, plans

router = APIRouter(tags=["plans"])

_EXAMPLE_DOCUMENT = {
    "format": "consulta.plan/v1",
    "organization": {"slug": "cm-bari", "name": "Città Metropolitana di Bari"},
    "plan": {
        "slug": "psm-bari",
        "title": {"it": "Piano Strategico Metropolitano"},
        "status": "consultation",
        "period": {"start": "2025-01-01", "end": "2027-12-31"},
        "phases": [{"name": {"it": "Ascolto"}, "starts_on": "2025-01-01", "ends_on": "2025-06-30"}],
        "levels": ["axis", "objective"],
        "nodes": [
            {
                "code": "1",
                "kind": "axis",
                "title": {"it": "Agenda digitale", "en": "Digital agenda"},
                "children": [
                    {"code": "1.1", "kind": "objective", "title": {"it": "Servizi digitali"}}
                ],
            }
        ],
    },
}


@router.get(
    "/v1/organizations/{org}/plans",
    response_model=Page[PlanSummary],
    summary="Plans of an organization, by slug; drafts only for its admins (public)",
)
async def list_plans(
    session: SessionDep, user: OptionalUser, org: str, page: PageParamsDep
) -> Page[PlanSummary]:
    items, cursor = await plans.list_plans(session, user, org, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/v1/plans/import",
    response_model=ImportReport,
    responses={201: {"model": ImportReport, "description": "The plan was created."}},
    summary="Import a consulta.plan/v1 document (organization admin, clients with "
    "plans:write; platform admin for a new organization)",
    description="Atomic: a document with any fault changes nothing and the 422 lists every "
    "fault with a JSON pointer (`errors[].pointer`). Re-importing updates the plan found by "
    "organization and plan slug, matching nodes by code; nodes missing from the document "
    "are archived. 201 when the plan was created, 200 otherwise. The schema is "
    "`app/data/plans/plan.schema.json`.",
)
async def import_plan(
    session: SessionDep,
    user: PlanWriter,
    response: Response,
    document: Annotated[
        dict[str, Any],
        Body(openapi_examples={"small plan": {"value": _EXAMPLE_DOCUMENT}}),
    ],
) -> ImportReport:
    report = await plan_import.import_plan(session, user, document)
    response.status_code = status.HTTP_201_CREATED if report.created else status.HTTP_200_OK
    return report


@router.get(
    "/v1/plans/{plan_id:uuid}",
    response_model=PlanPublic,
    summary="A plan with its phases and current phase (public; drafts: organization admin)",
)
async def get_plan(
    session: SessionDep, user: OptionalUser, plan_id: uuid.UUID, response: Response
) -> PlanPublic:
    plan = await plans.get_plan(session, user, plan_id)
    set_etag(response, plan.version)
    return plan


@router.patch(
    "/v1/plans/{plan_id:uuid}",
    response_model=PlanPublic,
    summary="Edit a plan; send If-Match with its ETag (organization admin, clients with "
    "plans:write)",
)
async def update_plan(
    session: SessionDep,
    user: PlanWriter,
    plan_id: uuid.UUID,
    body: PlanUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> PlanPublic:
    plan = await plans.update_plan(session, user, plan_id, body, if_match)
    set_etag(response, plan.version)
    return plan


_KindQuery = Annotated[str | None, Query(min_length=1, max_length=KIND_MAX)]


@router.get(
    "/v1/plans/{plan_id}/nodes",
    response_model=Page[NodeItem],
    summary="The plan's nodes: a flat, filterable list (public; drafts: organization admin)",
    description="Live nodes in plan order (depth first), keyset paginated; `?kind=` keeps "
    "one kind; `?parent=root` keeps the top level, `?parent=<id>` that node's children; "
    "without `parent`, every node. Archived nodes are left out (read them by id). The "
    "nested tree is `GET /v1/plans/{plan_id}/nodes/tree` (the older `?format=tree`, left "
    "out of this document, still answers it here).",
)
async def list_nodes(
    session: SessionDep,
    user: OptionalUser,
    plan_id: uuid.UUID,
    page: PageParamsDep,
    format: Annotated[Literal["list", "tree"], Query(include_in_schema=False)] = "list",
    kind: _KindQuery = None,
    parent: Annotated[
        str | None, Query(max_length=36, description="`root`, or the id of a node.")
    ] = None,
) -> Page[NodeItem] | JSONResponse:
    if format == "tree":
        tree = await plan_nodes.node_tree(session, user, plan_id, parent=parent, kind=kind)
        return JSONResponse(tree.model_dump(mode="json"))
    items, cursor = await plan_nodes.list_nodes(
        session, user, plan_id, page, kind=kind, parent=parent
    )
    return Page(items=items, next_cursor=cursor)


@router.get(
    "/v1/plans/{plan_id}/nodes/tree",
    response_model=NodeTree,
    summary="The plan's live nodes, nested (public; drafts: organization admin)",
    description="From the roots, or below `?parent=<id>`; `?kind=` keeps one kind. "
    "Unpaginated. Archived nodes are left out (read them by id).",
)
async def node_tree(
    session: SessionDep,
    user: OptionalUser,
    plan_id: uuid.UUID,
    kind: _KindQuery = None,
    parent: Annotated[str | None, Query(max_length=36, description="The id of a node.")] = None,
) -> NodeTree:
    return await plan_nodes.node_tree(session, user, plan_id, parent=parent, kind=kind)


@router.get(
    "/v1/plan-nodes/{node_id}",
    response_model=NodePublic,
    summary="One node with its ancestors, children, expected results, indicators and "
    "progress (public; drafts: organization admin)",
)
async def get_node(
    session: SessionDep, user: OptionalUser, node_id: uuid.UUID, response: Response
) -> NodePublic:
    node = await plan_nodes.get_node(session, user, node_id)
    set_etag(response, node.version)
    return node


@router.patch(
    "/v1/plan-nodes/{node_id}",
    response_model=NodePublic,
    summary="Edit a node's content; send If-Match with its ETag (organization admin, "
    "clients with plans:write)",
)
async def update_node(
    session: SessionDep,
    user: PlanWriter,
    node_id: uuid.UUID,
    body: NodeUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> NodePublic:
    node = await plan_nodes.update_node(session, user, node_id, body, if_match)
    set_etag(response, node.version)
    return node
