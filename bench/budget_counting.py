"""Counting benchmark for participatory budgeting: 50 000 ballots over 200 projects in
one area, counted with both rules exactly as the service counts them
(`app.services.budgets.counting.count_area`, pabutools underneath).

    .venv/bin/python -m bench.budget_counting [--ballots 50000] [--projects 200]

The target is both rules within 60 s together. No database: this measures counting
itself; the results are then stored (`budget_results`) and served from there.
Ballots are drawn at random (a fixed seed), 1 to 8 projects each, with a skew so that
some projects are much more popular than others, as in real elections.
"""

import argparse
import random
import sys
import time

from app.services.budgets.counting import count_area

TARGET_SECONDS = 60.0


def election(
    ballots: int, projects: int, seed: int = 15
) -> tuple[int, list[tuple[str, int]], list[list[str]]]:
    rng = random.Random(seed)
    costs = [(f"{i:04d}", rng.randint(10, 500) * 1000_00) for i in range(projects)]
    names = [name for name, _ in costs]
    weights = [1.0 / (1 + i) ** 0.7 for i in range(projects)]
    drawn = [
        sorted(set(rng.choices(names, weights=weights, k=rng.randint(1, 8))))
        for _ in range(ballots)
    ]
    amount = sum(cost for _, cost in costs) // 5
    return amount, costs, drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=50_000)
    parser.add_argument("--projects", type=int, default=200)
    args = parser.parse_args()
    amount, projects, ballots = election(args.ballots, args.projects)
    total = 0.0
    for rule in ("greedy", "equal_shares"):
        started = time.perf_counter()
        count = count_area(amount, projects, ballots, rule)
        elapsed = time.perf_counter() - started
        total += elapsed
        print(
            f"{rule:>12}: {elapsed:6.1f} s, {len(count.funded)} funded, "
            f"{count.spent / amount:.0%} of the budget spent"
        )
    verdict = "ok" if total <= TARGET_SECONDS else "over target"
    print(f"{'both':>12}: {total:6.1f} s (target {TARGET_SECONDS:.0f} s): {verdict}")
    if total > TARGET_SECONDS:
        sys.exit(1)


if __name__ == "__main__":
    main()
