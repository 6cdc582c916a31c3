"""Access-checked statements built once and reused with bound parameters (hot paths).

The access rules (`proposal_visibility`, `standing_columns`, `can_see_table_clause`…)
take the actor and compare its id with columns. Built for `template_actor(actor)` — a
stand-in with the same kind (anonymous, platform admin, person) whose `id` is the
`actor_id` parameter — they give a statement that fits every actor of that kind: it is
built and its cache key computed once per kind, kept in a `StatementCache`, and run with
`actor_params(actor)`. The SQL, and so the authorization in it, is the same as the one
built for the actor itself; only the id travels as a parameter instead of a literal.
(Where building a statement afresh costs more than running it: SQLAlchemy's operator
coercion and cache-key generation were a fifth of a worker's time on these paths.)
"""

import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import UUID

from app.models.accounts import User

# The caller's id in statements built once (NULL for an anonymous caller).
ACTOR_ID: Any = bindparam("actor_id", type_=UUID(as_uuid=True))


@dataclass(frozen=True)
class _TemplateActor:
    """What the access rules read of a person: their id (here a parameter) and whether
    they are a platform administrator."""

    id: Any
    is_platform_admin: bool


def actor_kind(actor: User | None) -> str:
    if actor is None:
        return "anonymous"
    return "platform_admin" if actor.is_platform_admin else "person"


def template_actor(actor: User | None) -> User | None:
    """`actor`'s stand-in for building a reusable statement (None stays None)."""
    if actor is None:
        return None
    return cast(User, _TemplateActor(id=ACTOR_ID, is_platform_admin=actor.is_platform_admin))


def actor_params(actor: User | None) -> dict[str, uuid.UUID | None]:
    return {"actor_id": actor.id if actor is not None else None}


class StatementCache:
    """Statements by a key of their shape (actor kind, flags); a handful per use."""

    def __init__(self, most: int = 64) -> None:
        self._statements: dict[Hashable, Any] = {}
        self._most = most

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        statement = self._statements.get(key)
        if statement is None:
            statement = build()
            if len(self._statements) < self._most:
                self._statements[key] = statement
        return statement
