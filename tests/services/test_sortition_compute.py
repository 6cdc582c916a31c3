"""The draw's computation, as the worker runs it (the child process): quotas in every
draw, reproducibility from the stored inputs, the marginals are the library's own."""

import asyncio
import json
import os
import sys
from typing import Any

from app.services.sortition import compute, library
from app.services.sortition.members import keeps_quotas
from app.services.sortition.runner import compute_in_child


def inputs(seed: int, algorithm: str = "maximin", households: bool = False) -> dict[str, Any]:
    """10 applicants, 4 to select: 2 women and 2 men, at least 2 under 25."""
    spec = [("f", "young")] * 2 + [("f", "old")] * 3 + [("m", "young")] * 2 + [("m", "old")] * 3
    people = [
        {
            "key": f"{i:02d}",
            "features": {"gender": g, "age": a},
            # Pairs of housemates: 00 with 01, 02 with 03…
            "household": f"home-{i // 2}" if households else None,
        }
        for i, (g, a) in enumerate(spec)
    ]
    return {
        "format": library.INPUTS_FORMAT,
        "number_to_select": 4,
        "algorithm": algorithm,
        "seed": seed,
        "check_same_address": households,
        "features": [
            {
                "name": "gender",
                "values": [{"value": "f", "min": 2, "max": 2}, {"value": "m", "min": 2, "max": 2}],
            },
            {
                "name": "age",
                "values": [
                    {"value": "young", "min": 2, "max": 4},
                    {"value": "old", "min": 0, "max": 4},
                ],
            },
        ],
        "people": people,
    }


async def _ignore(progress: dict[str, Any]) -> None:
    return None


async def draw(data: dict[str, Any]) -> dict[str, Any]:
    outcome = await compute_in_child(data, _ignore)
    assert "result" in outcome, outcome
    result: dict[str, Any] = outcome["result"]
    return result


async def test_every_draw_keeps_the_quotas_whatever_the_seed_and_algorithm():
    cases = [(1, "maximin", False), (2, "nash", False), (3, "legacy", False), (4, "maximin", True)]
    for seed, algorithm, households in cases:
        data = inputs(seed, algorithm, households)
        result = await draw(data)
        assert len(result["panel"]) == 4
        assert keeps_quotas(data, result["panel"]), (seed, algorithm, result)
        assert set(result["panel"]).isdisjoint(result["reserve"])
        if households:  # one per household on the panel; housemates off the reserve list
            homes = {data["people"][int(k)]["household"] for k in result["panel"]}
            assert len(homes) == 4
            assert all(data["people"][int(k)]["household"] not in homes for k in result["reserve"])
        if algorithm == "legacy":
            assert result["marginals"] is None
        else:
            assert abs(sum(result["marginals"].values()) - 4) < 1e-6


async def test_the_same_seed_and_inputs_give_the_same_panel():
    first, second = await asyncio.gather(draw(inputs(99)), draw(inputs(99)))
    assert first == second
    assert library.inputs_hash(inputs(99)) == library.inputs_hash(
        json.loads(json.dumps(inputs(99)))
    )
    assert library.inputs_hash(inputs(99)) != library.inputs_hash(inputs(98))


LIBRARY_ONLY = """
import json, sys
from sortition_algorithms.committee_generation import find_distribution_maximin
from sortition_algorithms.features import FeatureValueMinMax, set_default_max_flex
from sortition_algorithms.people import People
from sortition_algorithms.utils import set_random_provider

data = json.load(sys.stdin)
fc = {f["name"]: {v["value"]: FeatureValueMinMax(min=v["min"], max=v["max"])
                  for v in f["values"]} for f in data["features"]}
set_default_max_flex(fc)
people = People([])
for row, p in enumerate(data["people"]):
    people.add(p["key"], p["features"], fc, row)
set_random_provider(data["seed"])
committees, probabilities, _ = find_distribution_maximin(
    fc, people, data["number_to_select"], [], "highspy")
marginals = {key: 0.0 for key in people}
for committee, probability in zip(committees, probabilities):
    for key in committee:
        marginals[key] += probability
print(json.dumps(marginals))
"""


async def test_the_probabilities_are_the_librarys_marginals():
    data = inputs(7)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LIBRARY_ONLY,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    out, _ = await child.communicate(json.dumps(data).encode())
    library = json.loads(out.decode().strip().splitlines()[-1])
    ours = (await draw(data))["marginals"]
    assert ours.keys() == library.keys()
    for key, probability in library.items():
        assert abs(ours[key] - probability) < 1e-6, key
    assert abs(sum(ours.values()) - 4) < 1e-6


def test_feasibility_names_the_quota_and_the_shortfall():
    data = inputs(1)
    data["features"][1]["values"][0]["min"] = 3  # three under 25…
    data["people"] = [p for p in data["people"] if p["key"] not in {"05", "06"}]  # …of two
    issues = compute.feasibility(data)
    assert issues == [
        {
            "kind": "not_enough_applicants_with_value",
            "message": "age=young: the minimum is 3 but only 2 applied",
            "feature": "age",
            "value": "young",
            "shortfall": 1,
        }
    ]
