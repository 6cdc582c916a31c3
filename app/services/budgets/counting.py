"""Counting one area's ballots with pabutools (no database here).

* `greedy`: `greedy_utilitarian_welfare` with `Cost_Sat` — a project's satisfaction per
  euro is its number of votes, so projects are taken most votes first, skipping those that
  no longer fit what is left (CONSUL's and Decidim's rule).
* `equal_shares`: `method_of_equal_shares` with `Cost_Sat`, then completed by that same
  greedy rule over the money left (`initial_budget_allocation` = what MES funded).

Tie-break (both rules, deterministic and reproducible from the `.pb` export): among
projects the rule ranks equal, the cheaper one first, then the smaller project id (its API
id as a string, which is the `project_id` of the `.pb` file).
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pabutools.election import (
    ApprovalMultiProfile,
    Cost_Sat,
    FrozenApprovalBallot,
    Instance,
    Project,
)
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares
from pabutools.tiebreaking import TieBreakingRule

COUNTING_RULES = ("greedy", "equal_shares")


def _cheaper_then_id(_instance: Any, _profile: Any, project: Project) -> tuple[Any, str]:
    return (project.cost, str(project.name))


CHEAPER_THEN_ID = TieBreakingRule(_cheaper_then_id)


@dataclass(frozen=True)
class AreaCount:
    votes: dict[str, int]
    funded: frozenset[str]
    spent: int


def build_election(
    amount: int, projects: Sequence[tuple[str, int]], ballots: Iterable[Iterable[str]]
) -> tuple[Instance, ApprovalMultiProfile]:
    """A pabutools instance (budget `amount`, projects named by id with their cost) and a
    profile of approval ballots; choices of projects not in `projects` are dropped."""
    by_id = {pid: Project(pid, cost) for pid, cost in projects}
    instance = Instance(by_id.values(), budget_limit=amount)
    grouped = Counter(frozenset(pid for pid in ballot if pid in by_id) for ballot in ballots)
    profile = ApprovalMultiProfile(instance=instance)
    for choice, multiplicity in grouped.items():
        if choice:
            ballot = FrozenApprovalBallot(sorted((by_id[p] for p in choice), key=lambda p: p.name))
            profile[ballot] = multiplicity
    return instance, profile


def cost_sat_profile(
    instance: Instance, profile: ApprovalMultiProfile, *, per_ballot: bool = True
) -> Any:
    """The profile's `Cost_Sat` satisfaction measures, with pabutools' own per-project
    score cache (`scores`) filled in advance: a project's cost if the ballot approves it,
    else 0 — exactly what `Cost_Sat` computes, but with a set lookup instead of a scan
    of the ballot for each (ballot, project) pair. Cost satisfaction is additive, so a
    project's total satisfaction is its cost times its approvals: computed once here
    rather than ballot by ballot each time the greedy rule ranks a project (which is all
    the greedy rule reads: `per_ballot=False` skips the per-ballot scores)."""
    sat_profile = profile.as_sat_profile(Cost_Sat)
    approvals = Counter[str]()
    for sat, multiplicity in sat_profile.items():
        chosen = set(sat.ballot)
        if per_ballot:
            sat.scores = {p: p.cost if p in chosen else 0 for p in instance}
        for project in chosen:
            approvals[str(project.name)] += multiplicity
    totals = {p: p.cost * approvals[str(p.name)] for p in instance}
    sat_profile.total_satisfaction_project = totals.__getitem__
    return sat_profile


def _greedy(instance: Instance, sat_profile: Any, initial: list[Project]) -> Any:
    return greedy_utilitarian_welfare(
        instance,
        ApprovalMultiProfile(instance=instance),  # unused when sat_profile is given
        sat_profile=sat_profile,
        is_sat_additive=True,
        tie_breaking=CHEAPER_THEN_ID,
        initial_budget_allocation=initial,
    )


def count_election(instance: Instance, profile: ApprovalMultiProfile, counting: str) -> set[str]:
    """The ids of the funded projects under `counting`."""
    if counting == "greedy":
        allocation = _greedy(instance, cost_sat_profile(instance, profile, per_ballot=False), [])
    elif counting == "equal_shares":
        sat_profile = cost_sat_profile(instance, profile)
        mes = method_of_equal_shares(
            instance, profile, sat_profile=sat_profile, tie_breaking=CHEAPER_THEN_ID
        )
        allocation = _greedy(instance, sat_profile, list(mes))
    else:
        raise ValueError(f"unknown counting rule {counting!r}")
    return {str(p.name) for p in allocation}


def count_area(
    amount: int,
    projects: Sequence[tuple[str, int]],
    ballots: Sequence[Sequence[str]],
    counting: str,
) -> AreaCount:
    """Votes per project and what `counting` funds within `amount`."""
    costs = dict(projects)
    votes = dict.fromkeys(costs, 0)
    for ballot in ballots:
        for pid in set(ballot):
            if pid in votes:
                votes[pid] += 1
    instance, profile = build_election(amount, projects, ballots)
    funded = count_election(instance, profile, counting) if profile.num_ballots() else set()
    return AreaCount(votes=votes, funded=frozenset(funded), spent=sum(costs[p] for p in funded))
