"""Open data: a scene with public content next to everything that must stay out of the
datasets, and readers of the CSV and JSON Lines the API sends."""

import csv
import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.comments import Comment
from app.models.meetings import MeetingMinutes, MeetingRegistration, RegistrationStatus
from tests.factories.accounts import make_user
from tests.factories.comments import make_comment
from tests.factories.meetings import make_meeting
from tests.factories.organizations import make_municipality
from tests.factories.plans import add_indicator, make_plan
from tests.factories.polls import make_poll
from tests.factories.proposals import make_proposal
from tests.factories.scene import Scene, make_scene
from tests.factories.tables import add_member, make_table


@dataclass
class OpenDataScene:
    """`scene` (public content) plus rows that must never appear (`hidden_ids`)."""

    scene: Scene
    people: list[User]
    shown: dict[str, uuid.UUID] = field(default_factory=dict)
    hidden_ids: set[uuid.UUID] = field(default_factory=set)
    texts_never_shown: set[str] = field(default_factory=set)

    def keep_out(self, *rows: Any) -> None:
        for row in rows:
            self.hidden_ids.add(row.id)


async def _proposals(session: AsyncSession, o: OpenDataScene, private_table: Any) -> None:
    s = o.scene
    bari = await make_municipality(session, s.org, "Bari")
    answered = await make_proposal(
        session,
        s.table,
        s.author,
        title="Piste ciclabili, sicure",
        body='Testo con "virgolette", punto e virgola; e a capo\nseconda riga',
        node_ids=[s.nodes["4"].id, s.nodes["4.1"].id],
        answer_state="accepted",
        municipality_id=bari.id,
        supports_count=7,
    )
    o.shown["answered"] = answered.id
    draft = await make_proposal(session, s.table, s.author, title="Bozza", status="draft")
    hidden = await make_proposal(session, s.table, s.author, moderation_status="hidden")
    pending = await make_proposal(session, s.table, s.author, moderation_status="pending")
    private = await make_proposal(session, private_table, s.author, title="Riservata")
    o.keep_out(draft, hidden, pending, private)
    o.shown["hidden_proposal"], o.shown["private_proposal"] = hidden.id, private.id


async def _comments(session: AsyncSession, o: OpenDataScene, private_table: Any) -> None:
    s = o.scene
    org = s.org.id

    async def comment(target_type: Any, target_id: Any, table: Any, **fields: Any) -> Comment:
        return await make_comment(
            session, s.member, target_type, target_id, organization_id=org, table_id=table, **fields
        )

    shown = await comment("proposal", s.proposal.id, s.table.id, body="Ottima idea", upvotes=3)
    reply = await comment("proposal", s.proposal.id, s.table.id, parent=shown, body="Concordo")
    on_node = await comment("plan_node", s.node.id, None, body="Sul piano")
    on_meeting = await comment("meeting", s.meeting.id, s.table.id, body="Ci sarò")
    o.shown |= {"comment": shown.id, "reply": reply.id, "on_node": on_node.id}
    o.shown["on_meeting"] = on_meeting.id
    hidden = await comment("proposal", s.proposal.id, s.table.id, body="Insulto nascosto")
    hidden.status = "hidden"
    pending = await comment("proposal", s.proposal.id, s.table.id, body="In attesa di moderazione")
    pending.status = "pending"
    deleted = await comment("proposal", s.proposal.id, s.table.id, body="Cancellato")
    deleted.deleted_at = datetime.now(UTC)
    on_hidden = await comment(
        "proposal", o.shown["hidden_proposal"], s.table.id, body="Su proposta nascosta"
    )
    on_private = await comment(
        "proposal", o.shown["private_proposal"], private_table.id, body="Tavolo riservato"
    )
    session.add_all([hidden, pending, deleted])
    await session.flush()
    o.keep_out(hidden, pending, deleted, on_hidden, on_private)
    o.texts_never_shown |= {
        "Insulto nascosto",
        "In attesa di moderazione",
        "Cancellato",
        "Su proposta nascosta",
        "Tavolo riservato",
        "Riservata",
        "Bozza",
    }


async def _meetings(session: AsyncSession, o: OpenDataScene, private_table: Any) -> None:
    s = o.scene
    held = await make_meeting(
        session,
        s.table,
        starts_at=datetime.now(UTC).replace(microsecond=0) - timedelta(days=3),
        title={"it": "Assemblea di quartiere"},
        status="held",
    )
    statuses: list[RegistrationStatus] = [
        "registered",
        "attended",
        "attended",
        "waitlisted",
        "cancelled",
    ]
    for person, status in zip(o.people, statuses, strict=True):
        session.add(
            MeetingRegistration(
                meeting_id=held.id,
                user_id=person.id,
                status=status,
                check_in_code=uuid.uuid4().hex[:8],
            )
        )
    session.add(
        MeetingMinutes(
            meeting_id=held.id,
            text={"it": "Verbale: approvata la proposta."},
            attendees_count=31,
            attending_organizations=["Legambiente"],
            published_at=datetime.now(UTC),
        )
    )
    hidden = await make_meeting(session, s.table, moderation_status="hidden")
    private = await make_meeting(session, private_table, title={"it": "Riunione riservata"})
    await session.flush()
    o.shown["held_meeting"] = held.id
    o.keep_out(hidden, private)


async def _plans_and_polls(session: AsyncSession, o: OpenDataScene, private_table: Any) -> None:
    s = o.scene
    o.shown["indicator"] = await add_indicator(
        session,
        s.admin,
        s.nodes["4.1"].id,
        baseline=0.0,
        target=10.0,
        measurements=((date(2024, 1, 1), 2.5), (date(2025, 1, 1), 5.0)),
    )
    draft_plan, draft_nodes = await make_plan(session, s.org, codes=("77",), status="draft")
    o.keep_out(draft_plan, *draft_nodes.values())
    draft_indicator = await add_indicator(session, s.admin, draft_nodes["77"].id)
    o.hidden_ids.add(draft_indicator)
    closed, options = await make_poll(
        session, s.table, opens_in=timedelta(days=-3), closes_in=timedelta(days=-1)
    )
    options[0].votes_count, options[1].votes_count, closed.ballots_count = 4, 2, 6
    session.add_all([closed, *options])
    private_poll, _ = await make_poll(
        session, private_table, opens_in=timedelta(days=-3), closes_in=timedelta(days=-1)
    )
    await session.flush()
    o.shown["closed_poll"] = closed.id
    o.keep_out(s.poll, private_poll)  # the scene's poll is still open


async def make_open_data_scene(session: AsyncSession) -> OpenDataScene:
    """The scene with, for every dataset, public rows and rows that must stay out: drafts,
    hidden and pending content, private tables, a draft plan, open polls."""
    scene = await make_scene(session)
    people = [await make_user(session, name=f"Persona {i}") for i in range(5)]
    o = OpenDataScene(scene, people)
    private_table = await make_table(session, scene.org, visibility="private", slug="riservato")
    await add_member(session, private_table, scene.author)
    await _proposals(session, o, private_table)
    await _comments(session, o, private_table)
    await _meetings(session, o, private_table)
    await _plans_and_polls(session, o, private_table)
    return o


def read_csv(response: httpx.Response, delimiter: str = ",") -> list[dict[str, str]]:
    """The rows of a CSV answer (UTF-8 with a BOM, RFC 4180)."""
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff"), "the CSV starts with a BOM"
    return list(csv.DictReader(io.StringIO(text[1:], newline=""), delimiter=delimiter))


def read_jsonl(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines() if line]
