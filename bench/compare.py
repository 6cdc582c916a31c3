"""A before/after table of two `make bench` results (markdown):
`python -m bench.compare bench/results/large-before.json bench/results/large-after.json`."""

import json
import sys
from pathlib import Path
from typing import Any


def rows(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in document["results"] + document["sequential"]}


def table(before: dict[str, Any], after: dict[str, Any]) -> str:
    b, a = rows(before), rows(after)
    cb, ca = before["ceiling_throughput"], after["ceiling_throughput"]
    lines = [
        f"ceiling (raw SQL support tx, 32 conns): before {cb:.0f} tx/s, after {ca:.0f} tx/s",
        "",
        "| scenario | before req/s | before p50 / p99 ms | before ratio "
        "| after req/s | after p50 / p99 ms | after ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in [n for n in a if n in b]:
        x, y = b[name], a[name]
        seq = x["mode"] == "sequential"
        rb = "" if seq else f"{x['throughput'] / cb:.2f}"
        ra = "" if seq else f"{y['throughput'] / ca:.2f}"
        lines.append(
            f"| {name} | {x['throughput']:.1f} | {x['p50_ms']:.1f} / {x['p99_ms']:.1f} | {rb} "
            f"| {y['throughput']:.1f} | {y['p50_ms']:.1f} / {y['p99_ms']:.1f} | {ra} |"
        )
    return "\n".join(lines)


def main() -> None:
    before, after = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
    print(table(before, after))


if __name__ == "__main__":
    main()
