"""The demo's conversation: Bari's youth table asks what young people need from the city
at night; a few dozen statements and the votes of twenty participants who split into two
camps (lively squares and self-run spaces against quiet and order) while agreeing on
night buses, libraries open late and answers from the city. The worker draws the map
within seconds of `make run` (`CONVERSATION_MAP_SECONDS`).

Idempotent: a table that already has the conversation is left alone.
"""

import random
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.demo.comments import FALLBACK_FACILITATOR, youth_table
from app.demo.proposals import FACILITATOR
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.conversations import (
    Conversation,
    ConversationCreate,
    StatementCreate,
    VoteChoice,
)
from app.models.tables import ParticipationTable, TableMembership
from app.security import hash_password
from app.services.accounts.people import find_user_by_email
from app.services.conversations.conversations import create_conversation
from app.services.conversations.statements import create_statement
from app.services.conversations.votes import cast_vote

TITLE = "Bari di sera: di che cosa hanno bisogno i giovani?"
DESCRIPTION = (
    "Leggete le affermazioni e dite se siete d'accordo, in disaccordo o se passate. "
    "Potete aggiungerne di vostre (al massimo 280 caratteri)."
)
# Camp A agrees with these and camp B disagrees…
LIVELY = (
    "Le piazze del centro dovrebbero restare aperte ai concerti fino a mezzanotte.",
    "Gli spazi comunali vuoti vanno dati in autogestione ai collettivi giovanili.",
    "Servono più murales e arte di strada legale nei quartieri.",
    "Le feste di quartiere organizzate dai giovani non dovrebbero pagare il suolo pubblico.",
    "Meno telecamere e più educatori di strada.",
    "Le ordinanze anti-alcol in centro colpiscono soprattutto i giovani.",
    "Il Comune dovrebbe finanziare sale prove musicali gratuite.",
    "Le decisioni sugli spazi giovanili devono prenderle i giovani stessi.",
)
# … and the other way round here …
QUIET = (
    "Nelle zone della movida servono controlli più frequenti dopo le 23.",
    "Gli spazi giovanili devono avere orari e regole chiare decise dal Comune.",
    "I residenti del centro hanno diritto a notti tranquille.",
    "Più illuminazione e videosorveglianza nei parchi.",
    "Le feste in piazza vanno limitate al fine settimana.",
    "I fondi per i giovani vanno spesi prima di tutto per lo sport organizzato.",
    "Chi imbratta i muri deve ripulire a proprie spese.",
    "Gli spazi autogestiti rischiano di diventare zone franche.",
)
# … while nearly everyone agrees with these.
SHARED = (
    "Serve un trasporto pubblico notturno nei fine settimana.",
    "Le biblioteche dovrebbero restare aperte la sera per studiare.",
    "Il Comune deve rispondere pubblicamente alle proposte del tavolo.",
    "Servono più borse di studio per chi viene dalla provincia.",
    "Le informazioni sui bandi per i giovani sono difficili da trovare.",
    "Più tirocini retribuiti negli uffici comunali.",
)
VOICES = (
    "Alessio R.", "Beatrice L.", "Carlo M.", "Denise P.", "Emanuele S.",
    "Federica T.", "Gabriele V.", "Ilaria C.", "Jacopo D.", "Ludovica F.",
    "Matteo G.", "Noemi B.", "Orazio N.", "Paola Z.", "Riccardo A.",
    "Sara E.", "Tommaso I.", "Valentina O.", "Vito U.", "Zaira Q.",
)  # fmt: skip


async def _voice(
    session: AsyncSession, table: ParticipationTable, n: int, password_hash: str
) -> User:
    """A demo participant of the conversation, active member of the table."""
    email = f"voce{n:02d}@consulta.demo"
    user = await find_user_by_email(session, email)
    if user is None:
        user = User(
            email=email,
            display_name=VOICES[n],
            password_hash=password_hash,
            email_verified_at=datetime.now(UTC),
        )
        session.add(user)
        await session.flush()
        record_event(
            session,
            EventType.USER_REGISTERED,
            subject_type="user",
            subject_id=user.id,
            actor_id=None,
            payload={"source": "demo"},
        )
    member = (
        await session.exec(
            select(TableMembership.id).where(
                col(TableMembership.table_id) == table.id,
                col(TableMembership.user_id) == user.id,
            )
        )
    ).first()
    if member is None:
        session.add(
            TableMembership(
                table_id=table.id, user_id=user.id, status="active", activated_at=datetime.now(UTC)
            )
        )
        await session.flush()
    return user


def _vote(camp: int, text: str, rng: random.Random) -> VoteChoice | None:
    if rng.random() < 0.15:
        return None  # nobody votes on everything
    if text in SHARED:
        return "agree" if rng.random() < 0.9 else "pass"
    agrees = (text in LIVELY) == (camp == 0)
    if rng.random() < 0.08:
        agrees = not agrees  # nor always with their own camp
    return "agree" if agrees else "disagree"


async def seed_demo_conversation(session: AsyncSession, password: str) -> list[str]:
    table = await youth_table(session)
    facilitator = await find_user_by_email(session, FACILITATOR[0])
    if facilitator is None:
        facilitator = await find_user_by_email(session, FALLBACK_FACILITATOR)
    if table is None or facilitator is None:
        return []
    exists = (
        await session.exec(
            select(Conversation.id).where(
                col(Conversation.table_id) == table.id, col(Conversation.title) == TITLE
            )
        )
    ).first()
    if exists is not None:
        return []
    created = await create_conversation(
        session, facilitator, table.id, ConversationCreate(title=TITLE, description=DESCRIPTION)
    )
    password_hash = hash_password(password)  # once: twenty argon2 hashes would be slow
    voices = [await _voice(session, table, n, password_hash) for n in range(len(VOICES))]
    texts = [*LIVELY, *QUIET, *SHARED]
    statements = []
    for i, text in enumerate(texts):
        # The facilitator seeds a few; participants wrote the rest (reviewed already).
        author = facilitator if i % 4 == 0 else voices[i % len(voices)]
        statements.append(
            await create_statement(
                session, author, created.id, StatementCreate(body=text), approved=True
            )
        )
    rng = random.Random(18)  # noqa: S311 - the same demo votes every time
    votes = 0
    for n, voice in enumerate(voices):
        camp = n % 2
        for statement in statements:
            choice = _vote(camp, statement.body, rng)
            if choice is not None:
                await cast_vote(session, voice, statement.id, choice)
                votes += 1
    return [
        f"table cm-bari/tavolo-giovani: conversation with {len(statements)} statements and "
        f"{votes} votes from {len(voices)} participants (the worker draws its map)"
    ]
