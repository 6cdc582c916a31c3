"""The nodes of a plan: the nested tree, the flat filterable list, one node, and edits.

Only live nodes are listed; an archived node (one that left the plan on a re-import)
is still readable by id, with `archived_at` set, so that what links to it keeps working.
Every read goes through the plan's visibility (`plan_visible_clause`), every write
through the organization's admins (`is_org_admin_clause`): anything else is a 404.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, literal
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, Unprocessable
from app.etag import check_if_match
from app.event_types import EventType
from app.models.accounts import User
from app.models.integrations import Actor, acting_client
from app.models.organizations import Organization
from app.models.plans import (
    Indicator,
    NodeItem,
    NodePublic,
    NodeRef,
    NodeTree,
    NodeUpdate,
    PlanNode,
    TreeNode,
)
from app.pagination import PageParams, SortKey, paginate
from app.services.access.content import get_admin_node, get_visible_node, get_visible_plan
from app.services.audit.write import record_audit
from app.services.plans.budget_projects import node_budget_projects
from app.services.plans.monitoring import indicators_public
from app.services.plans.progress import node_progress
from app.services.validation import check_text, field_error, null_errors, raise_if

ROOT = "root"


def _live() -> Any:
    return col(PlanNode.archived_at).is_(None)


async def _counts(
    session: AsyncSession, node_ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, int], dict[uuid.UUID, int]]:
    """Live children and indicators per node, for a page of nodes (two grouped queries)."""
    if not node_ids:
        return {}, {}
    children = await session.exec(
        select(PlanNode.parent_id, func.count())
        .where(col(PlanNode.parent_id).in_(node_ids), _live())
        .group_by(col(PlanNode.parent_id))
    )
    indicators = await session.exec(
        select(Indicator.node_id, func.count())
        .where(col(Indicator.node_id).in_(node_ids))
        .group_by(col(Indicator.node_id))
    )
    return (
        {k: v for k, v in children.all() if k is not None},
        dict(indicators.all()),
    )


def _item(node: PlanNode, children_count: int, indicators_count: int) -> NodeItem:
    return NodeItem(
        id=node.id,
        plan_id=node.plan_id,
        organization_id=node.organization_id,
        parent_id=node.parent_id,
        code=node.code,
        kind=node.kind,
        title=node.title,
        summary=node.summary,
        position=node.position,
        depth=node.depth,
        children_count=children_count,
        indicators_count=indicators_count,
        archived_at=node.archived_at,
        created_at=node.created_at,
        updated_at=node.updated_at,
    )


async def _items(session: AsyncSession, nodes: Sequence[PlanNode]) -> list[NodeItem]:
    children, indicators = await _counts(session, [n.id for n in nodes])
    return [_item(n, children.get(n.id, 0), indicators.get(n.id, 0)) for n in nodes]


async def _parent_node(session: AsyncSession, plan_id: uuid.UUID, parent: str) -> PlanNode | None:
    """`?parent=`: `root` (None) or the id of a live node of the plan (422 otherwise)."""
    if parent == ROOT:
        return None
    error = Unprocessable(
        "`parent` must be `root` or the id of a node of this plan.",
        code=ErrorCode.UNKNOWN_PARENT,
        errors=[field_error(["query", "parent"], "no such node here", ErrorCode.UNKNOWN_PARENT)],
    )
    try:
        parent_id = uuid.UUID(parent)
    except ValueError:
        raise error from None
    node = (
        await session.exec(
            select(PlanNode).where(
                col(PlanNode.id) == parent_id, col(PlanNode.plan_id) == plan_id, _live()
            )
        )
    ).one_or_none()
    if node is None:
        raise error
    return node


async def list_nodes(
    session: AsyncSession,
    actor: User | None,
    plan_id: uuid.UUID,
    params: PageParams,
    *,
    kind: str | None = None,
    parent: str | None = None,
) -> tuple[list[NodeItem], str | None]:
    """Live nodes in document order (depth first). Without `parent`, every node of the
    plan; `parent=root`, the top level; `parent=<id>`, that node's children."""
    plan = await get_visible_plan(session, actor, plan_id)
    stmt = select(PlanNode).where(col(PlanNode.plan_id) == plan.id, _live())
    if kind is not None:
        stmt = stmt.where(col(PlanNode.kind) == kind)
    if parent is not None:
        parent_node = await _parent_node(session, plan.id, parent)
        stmt = stmt.where(
            col(PlanNode.parent_id).is_(None)
            if parent_node is None
            else col(PlanNode.parent_id) == parent_node.id
        )
    keys = [SortKey(PlanNode.sort_path), SortKey(PlanNode.id, kind=uuid.UUID)]
    nodes, cursor = await paginate(
        session, stmt, keys, params, key_of=lambda n: (n.sort_path, n.id)
    )
    return await _items(session, nodes), cursor


async def node_tree(
    session: AsyncSession,
    actor: User | None,
    plan_id: uuid.UUID,
    *,
    parent: str | None = None,
    kind: str | None = None,
) -> NodeTree:
    """The live nodes nested (from the roots, or below `parent`): a bounded number of
    queries whatever the size of the plan. Filtering by kind would break the nesting."""
    plan = await get_visible_plan(session, actor, plan_id)
    if kind is not None:
        raise Unprocessable(
            "`kind` filters the flat list only; drop it or use `format=list`.",
            code=ErrorCode.INVALID_QUERY,
            errors=[
                field_error(
                    ["query", "kind"], "not with format=tree", ErrorCode.INVALID_COMBINATION
                )
            ],
        )
    stmt = select(PlanNode).where(col(PlanNode.plan_id) == plan.id, _live())
    parent_node = await _parent_node(session, plan.id, parent) if parent else None
    if parent_node is not None:
        stmt = stmt.where(col(PlanNode.sort_path).startswith(parent_node.sort_path + "."))
    nodes = (await session.exec(stmt.order_by(col(PlanNode.sort_path)))).all()
    indicators = dict(
        (
            await session.exec(
                select(Indicator.node_id, func.count())
                .where(col(Indicator.plan_id) == plan.id)
                .group_by(col(Indicator.node_id))
            )
        ).all()
    )
    by_parent: dict[uuid.UUID | None, list[PlanNode]] = defaultdict(list)
    for node in nodes:  # in sort_path order: siblings come in position order
        by_parent[node.parent_id].append(node)

    def build(node: PlanNode) -> TreeNode:
        return TreeNode(
            id=node.id,
            parent_id=node.parent_id,
            code=node.code,
            kind=node.kind,
            title=node.title,
            summary=node.summary,
            position=node.position,
            depth=node.depth,
            indicators_count=indicators.get(node.id, 0),
            children=[build(child) for child in by_parent.get(node.id, [])],
        )

    top = by_parent.get(parent_node.id if parent_node else None, [])
    return NodeTree(plan_id=plan.id, nodes_count=len(nodes), items=[build(n) for n in top])


async def _ancestors(session: AsyncSession, node: PlanNode) -> list[NodeRef]:
    """From the root down to the node's parent, in one recursive query."""
    if node.parent_id is None:
        return []
    chain = (
        select(col(PlanNode.id), col(PlanNode.parent_id), literal(1).label("up"))
        .where(col(PlanNode.id) == node.parent_id)
        .cte("chain", recursive=True)
    )
    chain = chain.union_all(
        select(col(PlanNode.id), col(PlanNode.parent_id), (chain.c.up + 1).label("up")).where(
            col(PlanNode.id) == chain.c.parent_id
        )
    )
    rows = (
        await session.exec(
            select(PlanNode).join(chain, chain.c.id == PlanNode.id).order_by(chain.c.up.desc())
        )
    ).all()
    return [NodeRef(id=n.id, code=n.code, kind=n.kind, title=n.title) for n in rows]


async def node_public(session: AsyncSession, node: PlanNode) -> NodePublic:
    children = (
        await session.exec(
            select(PlanNode)
            .where(col(PlanNode.parent_id) == node.id, _live())
            .order_by(col(PlanNode.position), col(PlanNode.id))
        )
    ).all()
    indicators = (
        await session.exec(
            select(Indicator)
            .where(col(Indicator.node_id) == node.id)
            .order_by(col(Indicator.created_at), col(Indicator.id))
        )
    ).all()
    counts_children, counts_indicators = await _counts(
        session, [node.id, *(c.id for c in children)]
    )
    item = _item(node, counts_children.get(node.id, 0), counts_indicators.get(node.id, 0))
    return NodePublic(
        **item.model_dump(),
        description=node.description,
        expected_results=node.expected_results,
        version=node.version,
        ancestors=await _ancestors(session, node),
        children=[
            _item(c, counts_children.get(c.id, 0), counts_indicators.get(c.id, 0)) for c in children
        ],
        indicators=await indicators_public(session, indicators),
        progress=await node_progress(session, node),
        budget_projects=await node_budget_projects(session, node.id),
    )


async def get_node(session: AsyncSession, actor: User | None, node_id: uuid.UUID) -> NodePublic:
    return await node_public(session, await get_visible_node(session, actor, node_id))


async def update_node(
    session: AsyncSession,
    actor: Actor,
    node_id: uuid.UUID,
    data: NodeUpdate,
    if_match: str | None,
) -> NodePublic:
    node = await get_admin_node(session, actor, node_id, lock=True)
    check_if_match(if_match, node.version)
    if node.archived_at is not None:
        raise Conflict(
            "This node was archived when it left the plan; it can no longer be edited.",
            code=ErrorCode.NODE_ARCHIVED,
        )
    org = await session.get(Organization, node.organization_id)
    assert org is not None
    errors = null_errors(data, ("kind", "title", "summary", "description", "expected_results"))
    check_text(errors, ["title"], data.title, org.default_locale)
    if data.title is not None and not data.title:
        errors.append(field_error(["body", "title"], "must not be empty", ErrorCode.BLANK))
    check_text(errors, ["summary"], data.summary, org.default_locale)
    check_text(errors, ["description"], data.description, org.default_locale)
    for i, result in enumerate(data.expected_results or []):
        check_text(errors, ["expected_results", i], result, org.default_locale)
        if not result:
            errors.append(
                field_error(["body", "expected_results", i], "must not be empty", ErrorCode.BLANK)
            )
    raise_if(errors)

    changed = [
        field
        for field in ("kind", "title", "summary", "description", "expected_results")
        if field in data.model_fields_set and getattr(node, field) != getattr(data, field)
    ]
    for field in changed:
        setattr(node, field, getattr(data, field))
    if changed:
        node.version += 1
        record_audit(
            session,
            EventType.PLAN_NODE_UPDATED,
            organization_id=node.organization_id,
            actor_id=actor.id,
            actor_client_id=acting_client(actor),
            target_type="plan_node",
            target_id=node.id,
            data={"plan_id": str(node.plan_id), "fields": changed, "version": node.version},
        )
        await session.flush()
        await session.refresh(node)
    return await node_public(session, node)
