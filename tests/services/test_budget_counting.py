"""Counting rules on small elections checked by hand, and the documented tie-break."""

from pabutools.election import Cost_Sat
from pabutools.election.pabulib import parse_pabulib_from_string
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

from app.services.budgets.counting import CHEAPER_THEN_ID, count_area


def _names(allocation):
    return {str(p.name) for p in allocation}


def test_greedy_takes_most_votes_first_and_skips_what_no_longer_fits():
    # Budget 100: a (60, 5 votes) first; b (50, 4) no longer fits; c (30, 3) does; d
    # (20, 1) would fit only 10 left: skipped.
    projects = [("a", 60), ("b", 50), ("c", 30), ("d", 20)]
    ballots = [["a", "b"]] * 3 + [["a", "c"]] * 2 + [["b", "c", "d"]]
    count = count_area(100, projects, ballots, "greedy")
    assert count.votes == {"a": 5, "b": 4, "c": 3, "d": 1}
    assert count.funded == {"a", "c"}
    assert count.spent == 90


def test_equal_shares_funds_the_minority_project_greedy_leaves_out():
    # Ten voters, budget 100 (10 each). Six want a1 and a2 (50 each), four want b (40).
    # Greedy: a1 and a2 (6 votes each) take everything. Equal shares: the six can pay for
    # one of theirs (60 >= 50) but not a second (10 left); the four pay for b (40).
    projects = [("a1", 50), ("a2", 50), ("b", 40)]
    ballots = [["a1", "a2"]] * 6 + [["b"]] * 4
    greedy = count_area(100, projects, ballots, "greedy")
    assert greedy.funded == {"a1", "a2"}
    assert greedy.spent == 100
    mes = count_area(100, projects, ballots, "equal_shares")
    # a1 and a2 tie (same votes, same cost): the smaller id, a1, goes first.
    assert mes.funded == {"a1", "b"}
    assert mes.spent == 90


def test_equal_shares_is_completed_greedily_with_what_is_left():
    # Budget 100, three voters (33.3 each). x (90) has only one supporter: MES cannot
    # fund it (33.3 < 90) nor y (30, one supporter is enough: 30 <= 33.3) — y is funded
    # by MES, z (30) likewise; then the greedy completion has 40 left: x does not fit.
    projects = [("x", 90), ("y", 30), ("z", 30)]
    ballots = [["x"], ["y"], ["z"]]
    mes = count_area(100, projects, ballots, "equal_shares")
    assert mes.funded == {"y", "z"}
    # With a bigger budget x fits after MES: the completion adds it.
    mes = count_area(150, projects, ballots, "equal_shares")
    assert mes.funded == {"x", "y", "z"}
    assert mes.spent == 150


def test_ties_go_to_the_cheaper_project_then_the_smaller_id():
    projects = [("p2", 40), ("p1", 40), ("p3", 30)]
    ballots = [["p1", "p2", "p3"]]
    # Budget 70: all three tie on votes; p3 (cheaper) first, then p1 (smaller id): 70.
    assert count_area(70, projects, ballots, "greedy").funded == {"p3", "p1"}
    assert count_area(70, projects, ballots, "equal_shares").funded == {"p3", "p1"}


def test_no_ballots_funds_nothing():
    count = count_area(100, [("a", 10)], [], "equal_shares")
    assert count.funded == frozenset()
    assert count.votes == {"a": 0}
    assert count.spent == 0


def test_counting_matches_pabutools_on_a_pabulib_file():
    """The counting module agrees with pabutools run directly on a .pb document."""
    text = (
        """META
key;value
description;test
country;Italy
unit;Bari
instance;t
num_projects;3
num_votes;10
budget;100
vote_type;approval
rule;equalshares
PROJECTS
project_id;cost;votes;name
a1;50;6;a1
a2;50;6;a2
b;40;4;b
VOTES
voter_id;vote
"""
        + "".join(f"{i};a1,a2\n" for i in range(1, 7))
        + "".join(f"{i};b\n" for i in range(7, 11))
    )
    instance, profile = parse_pabulib_from_string(text)
    mes = method_of_equal_shares(
        instance, profile, sat_class=Cost_Sat, tie_breaking=CHEAPER_THEN_ID
    )
    completed = greedy_utilitarian_welfare(
        instance,
        profile,
        sat_class=Cost_Sat,
        tie_breaking=CHEAPER_THEN_ID,
        initial_budget_allocation=list(mes),
    )
    ours = count_area(
        100, [("a1", 50), ("a2", 50), ("b", 40)], [["a1", "a2"]] * 6 + [["b"]] * 4, "equal_shares"
    )
    assert _names(completed) == set(ours.funded) == {"a1", "b"}


def test_counting_agrees_with_plain_pabutools_on_random_elections():
    """The greedy rule's precomputed satisfaction totals change nothing."""
    import random

    from app.services.budgets.counting import build_election, count_election

    rng = random.Random(15)
    for _ in range(5):
        projects = [(f"p{i:02d}", rng.randint(1, 40) * 10) for i in range(15)]
        names = [p for p, _ in projects]
        ballots = [rng.sample(names, rng.randint(1, 5)) for _ in range(300)]
        instance, profile = build_election(1000, projects, ballots)
        plain_greedy = greedy_utilitarian_welfare(
            instance, profile, sat_class=Cost_Sat, tie_breaking=CHEAPER_THEN_ID
        )
        assert count_election(instance, profile, "greedy") == _names(plain_greedy)
        mes = method_of_equal_shares(
            instance, profile, sat_class=Cost_Sat, tie_breaking=CHEAPER_THEN_ID
        )
        plain_mes = greedy_utilitarian_welfare(
            instance,
            profile,
            sat_class=Cost_Sat,
            tie_breaking=CHEAPER_THEN_ID,
            initial_budget_allocation=list(mes),
        )
        assert count_election(instance, profile, "equal_shares") == _names(plain_mes)
