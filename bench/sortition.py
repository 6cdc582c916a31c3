"""Draw benchmark: 30 people from 2 000 applicants with 4 features, computed exactly as
the worker computes a draw (`app.services.sortition.runner.compute_in_child`: the child
process, `PYTHONHASHSEED=0`, HiGHS), with the library's progress as it comes.

    .venv/bin/python -m bench.sortition [--applicants 2000] [--select 30] [--algorithm maximin]

The target is under 10 minutes. No database: the draw's own time is what is measured
(storing the result is one transaction). Applicants are drawn at random (a fixed seed)
with skewed shares, and the quotas are the population shares of the applicants ±10 %
(min ⌊0.9·share·n⌋, max ⌈1.1·share·n⌉), as a stratified panel would ask.
"""

import argparse
import asyncio
import math
import random
import sys
import time
from typing import Any

from app.services.sortition.compute import feasibility
from app.services.sortition.library import INPUTS_FORMAT, initial_rounds
from app.services.sortition.members import keeps_quotas
from app.services.sortition.runner import compute_in_child

TARGET_SECONDS = 600.0
FEATURES: dict[str, dict[str, float]] = {
    "gender": {"f": 0.51, "m": 0.47, "nb": 0.02},
    "age": {"16-24": 0.2, "25-39": 0.3, "40-64": 0.35, "65-plus": 0.15},
    "area": {"bari": 0.4, "altamura": 0.15, "monopoli": 0.15, "molfetta": 0.15, "other": 0.15},
    "occupation": {"student": 0.2, "employed": 0.5, "unemployed": 0.1, "retired": 0.2},
}


def inputs(
    applicants: int, select: int, algorithm: str, capped: bool = True, seed: int = 18
) -> dict[str, Any]:
    rng = random.Random(seed)
    people: list[dict[str, Any]] = []
    for i in range(applicants):
        drawn = {
            name: rng.choices(list(shares), weights=list(shares.values()))[0]
            for name, shares in FEATURES.items()
        }
        people.append({"key": f"{i:06d}", "features": drawn, "household": None})
    features: list[dict[str, Any]] = []
    for name, shares in FEATURES.items():
        values: list[dict[str, Any]] = []
        for value in shares:
            share = sum(1 for p in people if p["features"][name] == value) / applicants
            low = math.floor(0.9 * share * select)
            high = max(math.ceil(1.1 * share * select), low)
            values.append({"value": value, "min": low, "max": high})
        features.append({"name": name, "values": values})
    return {
        "format": INPUTS_FORMAT,
        "number_to_select": select,
        "algorithm": algorithm,
        "seed": 20261207,
        "check_same_address": False,
        "initial_rounds": initial_rounds(applicants, select) if capped else None,
        "features": features,
        "people": people,
    }


async def main(applicants: int, select: int, algorithm: str, capped: bool) -> int:
    data = inputs(applicants, select, algorithm, capped)
    print(f"warm start: {data['initial_rounds'] or applicants} rounds")
    started = time.perf_counter()
    issues = feasibility(data)
    print(f"feasibility check: {time.perf_counter() - started:.1f} s, issues: {issues}")
    if issues:
        return 1

    async def progress(p: dict[str, Any]) -> None:
        elapsed = time.perf_counter() - started
        print(f"  {elapsed:7.1f} s  {p.get('phase')}: {p.get('message')}", flush=True)

    started = time.perf_counter()
    outcome = await compute_in_child(data, progress)
    seconds = time.perf_counter() - started
    if "result" not in outcome:
        print(f"draw failed after {seconds:.1f} s: {outcome}")
        return 1
    result = outcome["result"]
    marginals = result["marginals"] or {}
    print(
        f"{algorithm}: {select} of {applicants} with {len(FEATURES)} features in "
        f"{seconds:.1f} s ({result['committees_count']} panels in the distribution); "
        f"quotas kept: {keeps_quotas(data, result['panel'])}; "
        f"selection probability min {min(marginals.values(), default=0):.4f} "
        f"max {max(marginals.values(), default=0):.4f}; target < {TARGET_SECONDS:.0f} s"
    )
    return 0 if seconds < TARGET_SECONDS else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applicants", type=int, default=2000)
    parser.add_argument("--select", type=int, default=30)
    parser.add_argument("--algorithm", default="maximin", choices=["maximin", "nash", "legacy"])
    parser.add_argument(
        "--library-warm-start",
        action="store_true",
        help="one warm-start round per applicant, as the library does by default",
    )
    args = parser.parse_args()
    capped = not args.library_warm_start
    sys.exit(asyncio.run(main(args.applicants, args.select, args.algorithm, capped)))
