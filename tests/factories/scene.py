"""The one scene builder: an organization with its admin and a plan, a public open table
on that plan with a facilitator and a member, and (unless `content=False`) an author with
something of everything to comment on, vote on or report."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.meetings import Meeting
from app.models.organizations import Organization
from app.models.plans import Plan, PlanNode
from app.models.polls import Poll, PollOption
from app.models.proposals import Proposal
from app.models.tables import ParticipationTable
from tests.factories.accounts import make_user
from tests.factories.meetings import make_meeting
from tests.factories.organizations import make_org
from tests.factories.plans import make_plan
from tests.factories.polls import make_poll
from tests.factories.proposals import make_proposal
from tests.factories.tables import add_member, make_table


@dataclass
class SceneContent:
    """What a member of the scene's table wrote or started: a meeting, a published
    proposal (by `author`) and an open poll."""

    author: User
    meeting: Meeting
    proposal: Proposal
    poll: Poll
    options: list[PollOption]


@dataclass
class Scene:
    org: Organization
    admin: User  # the organization's admin
    plan: Plan
    nodes: dict[str, PlanNode]  # axes 1, 4, 9; objective 4.1 under axis 4
    table: ParticipationTable
    facilitator: User
    member: User
    content: SceneContent | None = None

    @property
    def node(self) -> PlanNode:
        """The plan node the comment tests talk about (axis 4)."""
        return self.nodes["4"]

    def _content(self) -> SceneContent:
        assert self.content is not None, "make_scene(content=False) built no content"
        return self.content

    @property
    def author(self) -> User:
        return self._content().author

    @property
    def meeting(self) -> Meeting:
        return self._content().meeting

    @property
    def proposal(self) -> Proposal:
        return self._content().proposal

    @property
    def poll(self) -> Poll:
        return self._content().poll

    @property
    def options(self) -> list[PollOption]:
        return self._content().options

    def target(self, target_type: str) -> uuid.UUID:
        """The id of the scene's comment target of that type."""
        return {
            "proposal": lambda: self.proposal.id,
            "meeting": lambda: self.meeting.id,
            "plan_node": lambda: self.node.id,
            "poll": lambda: self.poll.id,
        }[target_type]()


async def make_scene(session: AsyncSession, *, content: bool = True, **table_fields: Any) -> Scene:
    """The scene; the table is public and open unless `table_fields` say otherwise (see
    `make_table`)."""
    admin = await make_user(session, name="Admin")
    org = await make_org(session, admin=admin)
    plan, nodes = await make_plan(session, org)
    child = PlanNode(
        plan_id=plan.id,
        organization_id=org.id,
        parent_id=nodes["4"].id,
        code="4.1",
        kind="objective",
        title={"it": "Obiettivo 4.1"},
        position=0,
        depth=1,
        sort_path="0001.0000",
    )
    session.add(child)
    await session.flush()
    nodes["4.1"] = child
    table_fields.setdefault("plan_id", plan.id)
    table = await make_table(session, org, **table_fields)
    facilitator = await make_user(session, name="Facilitatrice")
    await add_member(session, table, facilitator, role="facilitator")
    member = await make_user(session, name="Marco")
    await add_member(session, table, member)
    scene = Scene(org, admin, plan, nodes, table, facilitator, member)
    if content:
        author = await make_user(session, name="Giulia")
        await add_member(session, table, author)
        meeting = await make_meeting(session, table)
        proposal = await make_proposal(
            session,
            table,
            author,
            title="Spazi studio aperti la sera",
            body="Aprire le biblioteche di quartiere fino a mezzanotte.",
        )
        poll, options = await make_poll(session, table)
        scene.content = SceneContent(author, meeting, proposal, poll, options)
    return scene
