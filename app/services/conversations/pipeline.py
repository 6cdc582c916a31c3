"""The opinion map of a vote matrix, with `red-dwarf`'s Polis pipeline (no database).

`red-dwarf` (`reddwarf.implementations.polis.run_pipeline`) does what Polis does: PCA of
the participants-by-statements matrix (missing votes imputed by the statement's mean)
projected to 2-D; k-means on the participants with at least `MIN_VOTES` votes, for k
from 2 to 5 chosen by the silhouette score; per group, the representative statements
(Polis's `repness`: how much more the group agrees, or disagrees, than the others,
significant at 90 %); the consensus statements of everyone; and group-informed
consensus (per statement, the product over groups of each group's probability of
agreeing). This module turns its result into plain, JSON-ready data keyed by our ids.
"""

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Polis places (and groups) participants who voted on at least 7 statements.
MIN_VOTES = 7
# Fewer clusterable participants than this: no groups are drawn.
MIN_PARTICIPANTS = 4
PICK_MAX = 5
INFORMED_CONSENSUS_MAX = 5
# k-means is seeded, so the same votes give the same map.
RANDOM_STATE = 42


@dataclass(frozen=True)
class Participant:
    """One row of the vote matrix: a pseudonym (keyed hash, never an id), the indexes of
    the statements voted on (into the map's statement list) and the votes (1 agree,
    -1 disagree, 0 pass)."""

    name: str
    statements: Sequence[int]
    values: Sequence[int]


def _finite(value: Any) -> float:
    number = float(value)
    return round(number, 6) if math.isfinite(number) else 0.0


def _too_few(votes_count: int, participants: int) -> dict[str, Any]:
    return {
        "state": "too_few_votes",
        "votes_count": votes_count,
        "participants_count": participants,
        "groups": [],
        "consensus": {"agree": [], "disagree": []},
        "informed_consensus": [],
        "positions": [],
        "keys": {},
    }


def _statement_ref(sid: uuid.UUID, stat: Any, direction: str) -> dict[str, Any]:
    return {
        "statement_id": str(sid),
        "direction": direction,
        "share": _finite(stat["p-success"]),
        "votes": int(stat["n-trials"]),
    }


def compute_map(
    participants: Sequence[Participant], statement_ids: Sequence[uuid.UUID]
) -> dict[str, Any]:
    """The map of the participants' votes on the visible statements `statement_ids`."""
    statements = list(statement_ids)
    people = [p for p in participants if p.statements]
    votes_count = sum(len(p.statements) for p in people)
    threshold = min(MIN_VOTES, max(len(statements), 1))
    clusterable = sum(1 for p in people if len(p.statements) >= threshold)
    if len(statements) < 2 or clusterable < MIN_PARTICIPANTS:
        return _too_few(votes_count, clusterable)
    # Imported here: red-dwarf brings pandas, scikit-learn and SciPy, which only the
    # worker needs (the API server would pay seconds of start-up for them).
    from reddwarf.implementations.polis import run_pipeline

    result = run_pipeline(
        votes=[
            {"participant_id": i, "statement_id": s, "vote": v, "modified": 0}
            for i, p in enumerate(people)
            for s, v in zip(p.statements, p.values, strict=True)
        ],
        min_user_vote_threshold=threshold,
        random_state=RANDOM_STATE,
        pick_max=PICK_MAX,
    )
    return _result(result, statements, [p.name for p in people], votes_count)


def _result(
    result: Any, statements: list[uuid.UUID], people: list[str], votes_count: int
) -> dict[str, Any]:
    frame = result.participants_df
    placed = frame[frame["to_cluster"]]
    positions: list[dict[str, Any]] = []
    keys: dict[str, int] = {}
    sizes: dict[int, int] = {}
    # Listed by position, not by person: the order says nothing about who is where.
    for pid, row in sorted(placed.iterrows(), key=lambda r: (float(r[1]["x"]), float(r[1]["y"]))):
        group = int(row["cluster_id"])
        sizes[group] = sizes.get(group, 0) + 1
        keys[people[int(pid)]] = len(positions)
        positions.append({"x": _finite(row["x"]), "y": _finite(row["y"]), "group": group})
    centers = result.clusterer.cluster_centers_ if result.clusterer is not None else []
    groups = [
        {
            "id": gid,
            "size": sizes.get(gid, 0),
            "center": [_finite(centers[gid][0]), _finite(centers[gid][1])],
            "representative": [
                _statement_ref(statements[int(s["tid"])], s, str(s["repful-for"]))
                for s in result.repness.get(gid, result.repness.get(str(gid), []))
            ],
        }
        for gid in sorted(sizes)
    ]
    consensus = {
        direction: [
            _statement_ref(statements[int(s["tid"])], s, direction)
            for s in result.consensus[direction]
        ]
        for direction in ("agree", "disagree")
    }
    informed = sorted(
        ((float(v), int(tid)) for tid, v in result.group_aware_consensus["agree"].items()),
        key=lambda item: -item[0] if math.isfinite(item[0]) else 0.0,
    )[:INFORMED_CONSENSUS_MAX]
    return {
        "state": "ready",
        "votes_count": votes_count,
        "participants_count": len(positions),
        "groups": groups,
        "consensus": consensus,
        "informed_consensus": [
            {"statement_id": str(statements[tid]), "agree": _finite(value)}
            for value, tid in informed
        ],
        "positions": positions,
        "keys": keys,
    }
