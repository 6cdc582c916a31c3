"""The computation of a draw and of a feasibility check, with `sortition-algorithms`
(Flanigan et al., Nature 2021), from the stored inputs only.

It runs in a child process (`python -m app.services.sortition.compute`, see
`runner.py`) with `PYTHONHASHSEED=0`: the library iterates over sets of strings, so a
fixed hash seed, the published random seed, the inputs and the library's version give
the same distribution and the same panel on any machine. Input on stdin:
`{"task": "draw" | "check", "inputs": {...}}`; output on stdout, one JSON object per
line: `{"progress": {...}}` while it works, then `{"result": {...}}` or
`{"error": {...}}`. Anyone can replay a published draw with its `inputs`:

    echo '{"task": "draw", "inputs": …}' | PYTHONHASHSEED=0 python -m app.services.sortition.compute

The inputs: `number_to_select`, `algorithm`, `seed`, `check_same_address`,
`initial_rounds` (the warm start's length, see `initial_rounds`), `features`
(`[{"name", "values": [{"value", "min", "max"}]}]`) and `people`
(`[{"key", "features": {name: value}, "household": hash | null}]`, sorted by key).
"""

import json
import random
import sys
from typing import Any

from sortition_algorithms import errors
from sortition_algorithms.committee_generation import (
    common,
    find_any_committee,
    find_distribution_leximin,
    find_distribution_maximin,
    find_distribution_nash,
    find_random_sample_legacy,
    leximin,
    maximin,
    nash,
)
from sortition_algorithms.core import lottery_rounding
from sortition_algorithms.features import (
    FeatureCollection,
    FeatureValueMinMax,
    report_min_max_against_number_to_select_structured,
    report_min_max_error_details_structured,
    set_default_max_flex,
)
from sortition_algorithms.people import People, check_people_per_feature_value
from sortition_algorithms.utils import set_random_provider

from app.services.sortition.library import (
    library_version,
)

SOLVER = "highspy"
HOUSEHOLD = "household"
# The library's warm start, as each algorithm's module calls it.
WARM_START = "generate_initial_committees"
LEGACY_ATTEMPTS = 100  # the library's default


def _warm_start(rounds: int) -> Any:
    original = common.generate_initial_committees

    def capped(
        solver: Any, agent_vars: Any, multiplicative_weights_rounds: int, **kwargs: Any
    ) -> Any:
        return original(solver, agent_vars, min(rounds, multiplicative_weights_rounds), **kwargs)

    return capped


def feature_collection(inputs: dict[str, Any]) -> FeatureCollection:
    fc: FeatureCollection = {
        f["name"]: {v["value"]: FeatureValueMinMax(min=v["min"], max=v["max"]) for v in f["values"]}
        for f in inputs["features"]
    }
    set_default_max_flex(fc)
    return fc


def people_of(inputs: dict[str, Any], fc: FeatureCollection) -> People:
    """The pool in the stored order; without a household, a person is their own."""
    people = People([HOUSEHOLD] if inputs["check_same_address"] else [])
    for row, person in enumerate(inputs["people"]):
        data = dict(person["features"])
        if inputs["check_same_address"]:
            data[HOUSEHOLD] = person.get("household") or f"self:{person['key']}"
        people.add(person["key"], data, fc, row)
    return people


def _address_columns(inputs: dict[str, Any]) -> list[str]:
    return [HOUSEHOLD] if inputs["check_same_address"] else []


# --- feasibility ----------------------------------------------------------------------


def _issue(
    kind: str, message: str, feature: str | None = None, value: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {"kind": kind, "message": message, "feature": feature, "value": value, **extra}


def _relaxations(original: FeatureCollection, relaxed: FeatureCollection) -> list[dict[str, Any]]:
    """What the library's relaxation changed: which quota cannot be met, by how much."""
    issues = []
    for name, values in original.items():
        for value, quota in values.items():
            new = relaxed[name][value]
            if new.min < quota.min:
                issues.append(
                    _issue(
                        "min_unreachable",
                        f"{name}={value}: at most {new.min} can be selected together with the "
                        f"other quotas, not the minimum of {quota.min}",
                        name,
                        value,
                        shortfall=quota.min - new.min,
                    )
                )
            if new.max > quota.max:
                issues.append(
                    _issue(
                        "max_too_low",
                        f"{name}={value}: at least {new.max} must be selected to meet the other "
                        f"quotas, above the maximum of {quota.max}",
                        name,
                        value,
                        shortfall=new.max - quota.max,
                    )
                )
    return issues


def feasibility(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """Every reason why no panel can meet the quotas (empty: a panel exists)."""
    fc = feature_collection(inputs)
    k = inputs["number_to_select"]
    issues = [
        _issue(i.issue_type, i.message, i.feature_name or None)
        for i in report_min_max_error_details_structured(fc)
        + report_min_max_against_number_to_select_structured(fc, k)
    ]
    people = people_of(inputs, fc)
    if people.count < k:
        issues.append(
            _issue(
                "not_enough_applicants",
                f"{people.count} applicants for {k} places",
                shortfall=k - people.count,
            )
        )
    for c in check_people_per_feature_value(fc, people):
        issues.append(
            _issue(
                "not_enough_applicants_with_value",
                f"{c.feature_name}={c.value_name}: the minimum is {c.min_required} but only "
                f"{c.actual_count} applied",
                c.feature_name,
                c.value_name,
                shortfall=c.min_required - c.actual_count,
            )
        )
    if issues:
        return issues
    try:
        find_any_committee(fc, people, k, _address_columns(inputs), SOLVER)
    except errors.InfeasibleQuotasError as error:
        return _relaxations(fc, error.features) or [
            _issue("infeasible", line) for line in error.lines()
        ]
    except errors.SortitionBaseError as error:
        return [_issue("infeasible", str(error))]
    return []


# --- the draw -------------------------------------------------------------------------


class LineReporter:
    """The library's progress events, as JSON lines on stdout."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.total: int | None = None

    def _emit(self, current: int | None, message: str | None) -> None:
        progress = {"phase": self.phase, "current": current, "total": self.total}
        print(json.dumps({"progress": {**progress, "message": message}}), flush=True)

    def start_phase(
        self, name: str, total: int | None = None, *, message: str | None = None
    ) -> None:
        self.phase, self.total = name, total
        self._emit(0, message)

    def update(self, current: int, *, message: str | None = None) -> None:
        self._emit(current, message)

    def end_phase(self) -> None:
        pass


def _distribution(
    inputs: dict[str, Any], fc: FeatureCollection, people: People, reporter: LineReporter
) -> tuple[list[frozenset[str]], list[float]]:
    if inputs.get("initial_rounds"):  # this child process only
        capped = _warm_start(inputs["initial_rounds"])
        for module in (maximin, nash, leximin):
            setattr(module, WARM_START, capped)
    finder = {
        "maximin": find_distribution_maximin,
        "nash": find_distribution_nash,
        "leximin": find_distribution_leximin,
    }[inputs["algorithm"]]
    committees, probabilities, _ = finder(
        fc,
        people,
        inputs["number_to_select"],
        _address_columns(inputs),
        SOLVER,
        progress_reporter=reporter,
    )
    # A canonical order, so that the lottery does not depend on the solver's.
    pairs = sorted(
        (tuple(sorted(c)), p) for c, p in zip(committees, probabilities, strict=True) if p > 0
    )
    total = sum(p for _, p in pairs)
    return [frozenset(c) for c, _ in pairs], [p / total for _, p in pairs]


def marginals_of(
    people: People, committees: list[frozenset[str]], probabilities: list[float]
) -> dict[str, float]:
    """Each person's probability of selection: the total probability of the panels that
    include them (as the library's own statistics count it)."""
    marginals = dict.fromkeys(people, 0.0)
    for committee, probability in zip(committees, probabilities, strict=True):
        for key in committee:
            marginals[key] += probability
    return {key: round(min(p, 1.0), 9) for key, p in marginals.items()}


def reserve_order(
    inputs: dict[str, Any], people: People, panel: frozenset[str], seed: int
) -> list[str]:
    """Everyone not selected, in an order drawn from the seed (replacements take the
    first who keeps the quotas); with the household check, housemates of the panel are
    left out."""
    taken = {people.get_person_dict(k).get(HOUSEHOLD) for k in panel}
    rest = sorted(
        k
        for k in people
        if k not in panel
        and not (inputs["check_same_address"] and people.get_person_dict(k)[HOUSEHOLD] in taken)
    )
    # Reproducible from the published seed, which is the point (not a secret).
    random.Random(f"reserve:{seed}").shuffle(rest)  # noqa: S311
    return rest


def draw(inputs: dict[str, Any], reporter: LineReporter) -> dict[str, Any]:
    fc = feature_collection(inputs)
    people = people_of(inputs, fc)
    seed = inputs["seed"]
    set_random_provider(seed)
    marginals: dict[str, float] | None = None
    committees_count: int | None = None
    if inputs["algorithm"] == "legacy":
        panels, _ = find_random_sample_legacy(
            people,
            fc,
            inputs["number_to_select"],
            _address_columns(inputs),
            max_attempts=LEGACY_ATTEMPTS,
            progress_reporter=reporter,
        )
        panel = panels[0]
    else:
        committees, probabilities = _distribution(inputs, fc, people, reporter)
        marginals = marginals_of(people, committees, probabilities)
        committees_count = len(committees)
        set_random_provider(seed)
        panel = lottery_rounding(committees, probabilities, 1)[0]
    return {
        "panel": sorted(panel),
        "reserve": reserve_order(inputs, people, panel, seed),
        "marginals": marginals,
        "committees_count": committees_count,
        "library_version": library_version(),
    }


def main() -> None:
    request = json.load(sys.stdin)
    inputs = request["inputs"]
    try:
        if request["task"] == "check":
            result: dict[str, Any] = {"issues": feasibility(inputs)}
        else:
            result = draw(inputs, LineReporter())
    except errors.InfeasibleQuotasError as error:
        fc = feature_collection(inputs)
        issues = _relaxations(fc, error.features)
        print(json.dumps({"error": {"kind": "infeasible", "issues": issues}}), flush=True)
        return
    except (errors.SortitionBaseError, ValueError, RuntimeError) as error:
        print(json.dumps({"error": {"kind": "failed", "message": str(error)}}), flush=True)
        return
    print(json.dumps({"result": result}), flush=True)


if __name__ == "__main__":
    main()
