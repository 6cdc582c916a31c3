"""The rich world of the authorization matrix and the fuzz run: organization A with
something of everything — a private table with its meeting, proposal, poll, live question
and survey; on its public table a draft, a hidden and a pending proposal, hidden and
pending comments; a plan with an indicator, a budget with a project, Open311 services, a
key and a request, a service client, a webhook with a delivery — and the outsiders who may
see none of A's private things: an anonymous caller, a participant of nowhere, another
organization's admin and service client, another table's facilitator.

Every secret object carries `World.marker` in its text (and personal data carries it
too), and its id is in `World.secret_ids`: no response to an outsider may contain either.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.budgets import Budget, BudgetArea, BudgetProject
from app.models.comments import Comment
from app.models.integrations import ApiClient, WebhookDelivery, WebhookEndpoint
from app.models.organizations import OrganizationRole
from app.models.sortition import SortitionDraw
from app.models.surveys import SurveyAnswer, SurveyResponse
from app.security import create_access_token, create_client_token
from app.services.open_data.datasets import DATASETS
from tests.factories.accounts import make_user
from tests.factories.base import commit_setup
from tests.factories.budgets import phases_around
from tests.factories.comments import make_comment
from tests.factories.conversations import add_votes, make_conversation, make_statement
from tests.factories.meetings import make_meeting
from tests.factories.organizations import make_org
from tests.factories.plans import add_indicator, make_plan
from tests.factories.polls import make_poll
from tests.factories.proposals import make_proposal
from tests.factories.scene import Scene, make_scene
from tests.factories.surveys import answers_for, survey_body
from tests.factories.tables import add_member, make_table

ALL_SCOPES = ["changes:read", "meetings:write", "plans:write", "webhooks:manage"]


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    scene: Scene  # organization A, its admin, plan, public table and content
    marker: str
    values: dict[str, list[str]] = field(default_factory=dict)  # path parameter -> values
    secret_ids: set[str] = field(default_factory=set)
    # Who calls: name -> Authorization headers (empty for anonymous).
    outsiders: dict[str, dict[str, str]] = field(default_factory=dict)
    insiders: dict[str, dict[str, str]] = field(default_factory=dict)

    def secret(self, *ids: Any) -> None:
        self.secret_ids.update(str(i) for i in ids)


async def _private_side(session: AsyncSession, world: World) -> dict[str, Any]:
    """A private, invitation-only table of A, with a member, and its content."""
    scene, mark = world.scene, world.marker
    table = await make_table(
        session,
        scene.org,
        visibility="private",
        membership_policy="invitation",
        name={"it": f"Tavolo riservato {mark}"},
        plan_id=scene.plan.id,
    )
    member = await make_user(session, name=f"Riservata {mark}")
    await add_member(session, table, member)
    await add_member(session, table, scene.facilitator, role="facilitator")
    meeting = await make_meeting(session, table, title={"it": f"Incontro {mark}"}, kind="plenary")
    proposal = await make_proposal(session, table, member, title=f"Proposta {mark}", body=mark * 2)
    poll, _ = await make_poll(session, table)
    comment = await make_comment(
        session,
        member,
        "proposal",
        proposal.id,
        organization_id=scene.org.id,
        table_id=table.id,
        body=f"Commento {mark}",
    )
    conversation = await make_conversation(session, table, title=f"Conversazione {mark}")
    statement = await make_statement(session, conversation, f"Affermazione {mark}")
    await add_votes(session, conversation, [(member, statement.id, 1)])
    draw = SortitionDraw(
        table_id=table.id,
        algorithm="maximin",
        seed=20261207,
        number_to_select=1,
        applicants_count=0,
        inputs={},
        inputs_hash="0" * 64,
        library_version="0",
        progress={},
    )
    session.add(draw)
    await session.flush()
    world.secret(table.id, meeting.id, proposal.id, poll.id, comment.id)
    world.secret(conversation.id, statement.id, draw.id)
    return {"table": table, "member": member, "meeting": meeting, "proposal": proposal,
            "poll": poll, "comment": comment, "conversation": conversation,
            "statement": statement, "draw": draw}  # fmt: skip


async def _public_side_secrets(session: AsyncSession, world: World) -> dict[str, Any]:
    """On A's public table: a draft, a hidden and a pending proposal; a hidden and a
    pending comment on the public proposal."""
    scene, mark = world.scene, world.marker
    draft = await make_proposal(
        session, scene.table, scene.author, title=f"Bozza {mark}", status="draft"
    )
    hidden = await make_proposal(
        session, scene.table, scene.author, title=f"Nascosta {mark}", moderation_status="hidden"
    )
    pending = await make_proposal(
        session, scene.table, scene.author, title=f"In attesa {mark}", moderation_status="pending"
    )
    comments = []
    for status in ("hidden", "pending"):
        comment_id = uuid.uuid4()
        comment = Comment(
            id=comment_id,
            root_id=comment_id,
            target_type="proposal",
            target_id=scene.proposal.id,
            organization_id=scene.org.id,
            table_id=scene.table.id,
            author_id=scene.author.id,
            depth=0,
            body=f"Commento {status} {mark}",
            status=status,
        )
        session.add(comment)
        comments.append(comment)
    await session.flush()
    world.secret(draft.id, hidden.id, pending.id, *(c.id for c in comments))
    return {"draft": draft, "hidden": hidden, "pending": pending, "comments": comments}


async def _admin_side(session: AsyncSession, world: World) -> dict[str, Any]:
    """A's draft plan (a node, an indicator), budget and project, an indicator on the
    public plan, service client, webhook and a delivery."""
    scene, mark = world.scene, world.marker
    indicator_id = await add_indicator(session, scene.admin, scene.node.id)
    draft_plan, draft_nodes = await make_plan(session, scene.org, codes=("7",), status="draft")
    draft_plan.title = {"it": f"Piano in bozza {mark}"}
    draft_node = draft_nodes["7"]
    draft_node.title = {"it": f"Asse in bozza {mark}"}
    draft_indicator = await add_indicator(session, scene.admin, draft_node.id)
    world.secret(draft_plan.id, draft_node.id, draft_indicator)
    budget = Budget(
        organization_id=scene.org.id,
        slug="bilancio-matrice",
        title={"it": "Bilancio"},
        description={"it": "Per la matrice."},
        phases=phases_around("voting"),
        voting_method="approval",
        counting="greedy",
    )
    session.add(budget)
    await session.flush()
    area = BudgetArea(budget_id=budget.id, name="Area A", amount=100_00)
    session.add(area)
    await session.flush()
    project = BudgetProject(
        budget_id=budget.id,
        organization_id=scene.org.id,
        area_id=area.id,
        title={"it": "Progetto"},
        cost=50_00,
        feasibility="feasible",
    )
    client = ApiClient(organization_id=scene.org.id, name=f"Portale {mark}", scopes=ALL_SCOPES)
    webhook = WebhookEndpoint(
        organization_id=scene.org.id,
        url=f"https://{mark.lower()}.example.org/hook",
        event_types=["*"],
        description=f"Ricevitore {mark}",
    )
    session.add_all([project, client, webhook])
    await session.flush()
    delivery = WebhookDelivery(
        endpoint_id=webhook.id,
        organization_id=scene.org.id,
        event_id=uuid.uuid4(),
        type="proposal.created",
        body={"type": "proposal.created", "data": {"note": mark}},
        status="failed",
        attempts=1,
    )
    session.add(delivery)
    await session.flush()
    role = (
        await session.exec(
            select(OrganizationRole).where(
                col(OrganizationRole.organization_id) == scene.org.id,
                col(OrganizationRole.user_id) == scene.admin.id,
            )
        )
    ).one()
    world.secret(client.id, webhook.id, delivery.id)
    return {"indicator_id": indicator_id, "draft_plan": draft_plan, "draft_node": draft_node,
            "draft_indicator": draft_indicator, "budget": budget, "project": project,
            "client": client, "webhook": webhook, "delivery": delivery, "role": role}  # fmt: skip


async def _outsiders(session: AsyncSession, world: World) -> None:
    scene = world.scene
    stranger = await make_user(session, name="Estranea")
    other_admin = await make_user(session, name="Altra amministratrice")
    other_org = await make_org(session, admin=other_admin)
    other_client = ApiClient(organization_id=other_org.id, name="Altro", scopes=ALL_SCOPES)
    session.add(other_client)
    other_table = await make_table(session, scene.org, plan_id=scene.plan.id)
    other_facilitator = await make_user(session, name="Facilitatore altrove")
    await add_member(session, other_table, other_facilitator, role="facilitator")
    await session.flush()
    client_token, _ = create_client_token(other_client.id, other_org.id, ALL_SCOPES)
    world.outsiders = {
        "anonymous": {},
        "participant": _headers(create_access_token(stranger.id)[0]),
        "other_org_admin": _headers(create_access_token(other_admin.id)[0]),
        "other_table_facilitator": _headers(create_access_token(other_facilitator.id)[0]),
        "other_org_client": _headers(client_token),
    }


async def _through_the_api(
    client: httpx.AsyncClient, session: AsyncSession, world: World, private: dict[str, Any]
) -> dict[str, str]:
    """What is simplest made the way people make it: a members-only survey of the private
    table (and one answer), Open311 services, a key and a request, a live question."""
    scene, mark = world.scene, world.marker
    admin, member = world.insiders["admin"], _headers(create_access_token(private["member"].id)[0])
    org = scene.org.slug

    async def post(url: str, headers: dict[str, str], **kwargs: Any) -> dict[str, Any]:
        response = await client.post(url, headers=headers, **kwargs)
        assert response.status_code in (200, 201), f"{url}: {response.text}"
        body: Any = response.json()
        found: dict[str, Any] = body[0] if isinstance(body, list) else body
        return found

    survey = await post(
        f"/v1/organizations/{org}/surveys",
        admin,
        json=survey_body(
            title={"it": f"Sondaggio {mark}"},
            audience="members",
            table_id=str(private["table"].id),
        ),
    )
    await post(f"/v1/surveys/{survey['id']}/responses", member, json=answers_for(survey))
    answer = (
        await session.exec(
            select(SurveyAnswer.id)
            .join(SurveyResponse, col(SurveyResponse.id) == col(SurveyAnswer.response_id))
            .where(col(SurveyResponse.survey_id) == uuid.UUID(survey["id"]))
        )
    ).first()
    service = {"service_code": "suggerimento", "service_name": "Suggerimento"}
    await post(f"/v1/organizations/{org}/services", admin, json=service)
    key = await post(f"/v1/organizations/{org}/open311-keys", admin, json={"label": mark})
    receipt = await post(
        "/open311/v2/requests.json",
        {},
        data={
            "jurisdiction_id": org,
            "service_code": "suggerimento",
            "api_key": key["api_key"],
            "description": "Più panchine al parco",
            "email": f"{mark.lower()}@example.org",
            "first_name": mark,
            "last_name": mark,
            "phone": "+39 080 000000",
        },
    )
    question = await post(
        f"/v1/meetings/{private['meeting'].id}/questions", member, json={"body": f"Domanda {mark}"}
    )
    world.secret(survey["id"], question["id"], key["id"])
    if answer is not None:
        world.secret(answer)
    return {
        "survey_id": survey["id"],
        "answer_id": str(answer),
        "key_id": key["id"],
        "service_code": "suggerimento",
        "request_id": receipt["service_request_id"],
        "service_request_id": receipt["service_request_id"],
        "token": receipt["token"],
        "question_id": question["id"],
    }


async def make_world(session: AsyncSession, client: httpx.AsyncClient) -> World:
    """The world, committed (`commit_setup`) before its API part is built with `client`."""
    scene = await make_scene(session)
    world = World(scene=scene, marker=f"SEGRETO{uuid.uuid4().hex[:10].upper()}")
    private = await _private_side(session, world)
    public = await _public_side_secrets(session, world)
    admin = await _admin_side(session, world)
    await _outsiders(session, world)
    client_token, _ = create_client_token(admin["client"].id, scene.org.id, ALL_SCOPES)
    world.insiders = {
        "admin": _headers(create_access_token(scene.admin.id)[0]),
        "member": _headers(create_access_token(scene.member.id)[0]),
        "client": _headers(client_token),
    }
    await commit_setup(session)
    made = await _through_the_api(client, session, world, private)
    world.values = {
        "org": [scene.org.slug],
        "role_id": [str(admin["role"].id)],
        "table_id": [str(private["table"].id)],
        "user_id": [str(private["member"].id)],
        "meeting_id": [str(private["meeting"].id)],
        "poll_id": [str(private["poll"].id)],
        "plan_id": [str(scene.plan.id), str(admin["draft_plan"].id)],
        "node_id": [str(scene.node.id), str(admin["draft_node"].id)],
        "indicator_id": [str(admin["indicator_id"]), str(admin["draft_indicator"])],
        "proposal_id": [
            str(private["proposal"].id),
            str(public["draft"].id),
            str(public["hidden"].id),
            str(public["pending"].id),
        ],
        "comment_id": [str(private["comment"].id), *(str(c.id) for c in public["comments"])],
        "budget_id": [str(admin["budget"].id)],
        "project_id": [str(admin["project"].id)],
        "client_id": [str(admin["client"].id)],
        "webhook_id": [str(admin["webhook"].id)],
        "delivery_id": [str(admin["delivery"].id)],
        "conversation_id": [str(private["conversation"].id)],
        "statement_id": [str(private["statement"].id)],
        "draw_id": [str(private["draw"].id)],
        "dataset": list(DATASETS),  # public: none may carry a secret
        **{name: [value] for name, value in made.items()},
    }
    return world
