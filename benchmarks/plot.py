"""bench.png from results.json: inventory wall time and API calls vs N, this collection vs the baseline.

    .venv/bin/python benchmarks/plot.py [benchmarks/results/results.json] [out.png]

Needs matplotlib (benchmarks/requirements.txt; `make bench` installs it). run.py calls plot() itself.
Measured points are filled; the baseline's extrapolated point (if any) is hollow on a dashed line.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend choice)
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def _series(rows: list[dict[str, Any]], variant: str, key: str, extrapolated: bool = False) -> list[tuple[int, float]]:
    return sorted((r["n"], r[key]) for r in rows
                  if r["scenario"] == "inventory" and r["variant"] == variant and r.get(key) is not None
                  and bool(r.get("extrapolated")) == extrapolated)


def plot(data: dict[str, Any], path: str) -> str:
    rows = data["rows"]
    fig, (ax_t, ax_c) = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = {"rdsca": ("rdsca.rotation rds_ca_facts (1 task)", "tab:blue", "o"),
              "competent": ("amazon.aws, competent: regions async, versions once", "tab:green", "^"),
              "baseline": ("amazon.aws naive: rds_engine_versions_info per instance", "tab:red", "s")}
    for variant, (label, color, marker) in styles.items():
        walls = _series(rows, variant, "wall_median_s")
        if walls:
            xs, ys = zip(*walls)
            lo = [y - r["wall_min_s"] for r in rows for x, y in walls
                  if r["scenario"] == "inventory" and r["variant"] == variant and r["n"] == x]
            hi = [r["wall_max_s"] - y for r in rows for x, y in walls
                  if r["scenario"] == "inventory" and r["variant"] == variant and r["n"] == x]
            ax_t.errorbar(xs, ys, yerr=[lo, hi], color=color, marker=marker, capsize=3, label=label)
        calls = _series(rows, variant, "api_calls")
        if calls:
            xs, ys = zip(*calls)
            ax_c.plot(xs, ys, color=color, marker=marker, label=label)
    # the baseline where run.py extrapolated it (a line through the measured sizes): hollow, dashed
    for key, ax in (("wall_median_s", ax_t), ("api_calls", ax_c)):
        measured, guessed = _series(rows, "baseline", key), _series(rows, "baseline", key, extrapolated=True)
        if measured and guessed:
            xs, ys = zip(*([measured[-1]] + guessed))
            ax.plot(xs, ys, "--", color="tab:red")
            ax.plot(xs[1:], ys[1:], linestyle="none", marker="s", mfc="none", color="tab:red",
                    label="baseline, extrapolated (linear fit)")
    sizes = sorted({r["n"] for r in rows if r["scenario"] == "inventory"})
    plain = FuncFormatter(lambda v, _pos: f"{v:,.0f}" if v >= 1 else f"{v:g}")
    for ax, title, ylabel in ((ax_t, "Inventory wall time (median, min–max)", "seconds"),
                              (ax_c, "Inventory API calls", "API calls")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("instances N (over %s regions)" % data["settings"].get("regions", "?"))
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    m = data["machine"]
    fig.suptitle("rdsca.rotation vs amazon.aws, simulator latency %g ms/call - %s, %s cores; %s"
                 % (data["settings"]["latency_ms"], m.get("cpu"), m.get("cores"), data["started"][:10]), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str]) -> int:
    src = argv[0] if argv else os.path.join(HERE, "results", "results.json")
    dst = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(src), "bench.png")
    with open(src, encoding="utf-8") as handle:
        data = json.load(handle)
    print(plot(data, dst))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
