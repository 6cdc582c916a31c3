"""Reading the Prometheus text exposition in tests."""

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-for-the-tests-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (s.name, dict(s.labels), float(s.value))
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def value(text: str, name: str, **labels: Any) -> float | None:
    """The sample `name` whose labels include `labels`, summed over the others; None
    when there is none."""
    found = [
        v
        for n, have, v in samples(text)
        if n == name and all(have.get(k) == str(w) for k, w in labels.items())
    ]
    return sum(found) if found else None
