"""The benchmark's outputs: a table on stdout, JSON and a PNG chart in `bench/results/`."""

import json
import re
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def print_table(rows: list[dict[str, Any]], ceiling: float) -> None:
    print()
    print(
        f"{'scenario':<44} {'mode':<10} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'ratio':>6}  statuses"
    )
    for r in rows:
        ratio = r["throughput"] / ceiling if ceiling and r["mode"] != "sequential" else None
        mode = r["mode"] if r["rate"] is None else f"open@{r['rate']:.0f}"
        print(
            f"{r['name']:<44} {mode:<10} {r['throughput']:8.1f} {r['p50_ms']:8.1f} "
            f"{r['p95_ms']:8.1f} {r['p99_ms']:8.1f} "
            f"{'' if ratio is None else f'{ratio:6.2f}':>6}  {r['statuses']}"
            + (f" dropped {r['dropped']}" if r.get("dropped") else "")
        )
    print()


def write(scale: str, document: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = RESULTS / f"{scale}-{stamp}.json"
    text = json.dumps(document, indent=1, default=str)
    path.write_text(text)
    (RESULTS / f"{scale}-latest.json").write_text(text)
    return path


def chart() -> Path | None:
    """Latency (sequential p50) against page depth, one line per sort and scale, from the
    latest result of each scale; plus page-1 p95 against the hot table's size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    documents = {}
    for scale in ("small", "large"):
        path = RESULTS / f"{scale}-latest.json"
        if path.exists():
            documents[scale] = json.loads(path.read_text())
    if not documents:
        return None
    # A recorded baseline (`<scale>-before.json`) is drawn dotted beside the latest run.
    baselines = {
        f"{scale}, before": json.loads((RESULTS / f"{scale}-before.json").read_text())
        for scale in ("small", "large")
        if (RESULTS / f"{scale}-before.json").exists()
    }
    figure, (by_depth, by_size) = plt.subplots(1, 2, figsize=(13, 5))
    for scale, doc in {**documents, **baselines}.items():
        for sort, points in doc.get("depth_curve", {}).items():
            depths = [p["depth"] for p in points]
            by_depth.plot(
                [max(d, 1) for d in depths],
                [p["p50_ms"] for p in points],
                marker="o",
                linestyle=":" if "before" in scale else "-" if scale == "large" else "--",
                alpha=0.5 if "before" in scale else 1.0,
                label=f"{sort} ({scale})",
            )
    by_depth.set_xscale("log")
    by_depth.set_yscale("log")
    by_depth.set_xlabel("rows before the page (1 = page 1)")
    by_depth.set_ylabel("p50 latency, ms (one client)")
    by_depth.set_title("Proposal list: latency against page depth")
    by_depth.legend(fontsize=7)
    sizes = {s: d["data"]["hot_table_proposals"] for s, d in documents.items()}

    def series(name: str) -> str:  # deep pages are as deep as each scale allows
        return re.sub(r"depth=(\d+)", lambda m: "page 1" if m[1] == "0" else "deep", name)

    names = sorted({series(r["name"]) for d in documents.values() for r in d["sequential"]})
    for name in names:
        xs, ys = [], []
        for scale, doc in documents.items():
            for r in doc["sequential"]:
                if series(r["name"]) == name:
                    xs.append(sizes[scale])
                    ys.append(r["p95_ms"])
        if xs:
            order = sorted(range(len(xs)), key=lambda i: xs[i])
            by_size.plot([xs[i] for i in order], [ys[i] for i in order], marker="o", label=name)
    by_size.set_xscale("log")
    by_size.set_yscale("log")
    by_size.set_xlabel("proposals in the hot table")
    by_size.set_ylabel("p95 latency, ms (one client)")
    by_size.set_title("Latency against data size")
    by_size.legend(fontsize=6)
    figure.tight_layout()
    path = RESULTS / "latency.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
