"""The pipeline benchmark's results: mean over seeds per cell, the best k with and
without the ledger, the checks, and the figure of end-to-end latency against k."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from benchmarks.common.output import new_figure, save_figure

__all__ = ["FIGURE", "best_k_rows", "cell_rows", "check_problems", "figure", "wide_rows"]

FIGURE = "pipeline.png"
# What --check allows between the reported end-to-end latency and network + ledger (s).
_DECOMPOSITION_TOL_S = 1e-9


def cell_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (network, k, method, strategy): means (and spread) over the seeds that ran."""
    cells: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        cells.setdefault((row["network"], row["k"], row["method"], row["strategy"]), []).append(row)
    out = []
    for (network, k, method, strategy), mine in cells.items():
        ran = [r for r in mine if r["end_to_end_s"] is not None]
        cell: dict[str, Any] = {
            "network": network, "k": k, "method": method, "strategy": strategy,
            "status": mine[0]["placement_status"], "seeds": len(ran),
        }
        for key in ("network_ms", "ledger_s", "end_to_end_s", "throughput_tps"):
            values = [r[key] for r in ran]
            cell[key] = statistics.fmean(values) if values else None
        values = [r["end_to_end_s"] for r in ran]
        cell["end_to_end_std_s"] = statistics.stdev(values) if len(values) > 1 else None
        out.append(cell)
    return out


def wide_rows(cells: list[dict[str, Any]], strategies: list[str]) -> list[dict[str, Any]]:
    """One row per (network, k, method): network latency, then end-to-end latency per strategy."""
    wide: dict[tuple[Any, ...], dict[str, Any]] = {}
    for cell in cells:
        row = wide.setdefault((cell["network"], cell["k"], cell["method"]), {
            "network": cell["network"], "k": cell["k"], "method": cell["method"], "status": cell["status"],
            "network_ms": cell["network_ms"],
        })
        row[cell["strategy"]] = cell["end_to_end_s"]
    for row in wide.values():
        for strategy in strategies:
            row.setdefault(strategy, None)
    return list(wide.values())


def best_k_rows(cells: list[dict[str, Any]], strategies: list[str]) -> list[dict[str, Any]]:
    """Per network and strategy: the k whose best placement (over the methods) has the
    shortest network latency alone, against the k whose best placement has the shortest
    end-to-end latency (network + ledger)."""
    out = []
    for network in dict.fromkeys(c["network"] for c in cells):
        for strategy in strategies:
            mine = [c for c in cells if (c["network"], c["strategy"]) == (network, strategy)
                    and c["end_to_end_s"] is not None]
            if not mine:
                continue
            by_network = min(mine, key=lambda c: (c["network_ms"], c["end_to_end_s"], c["k"]))
            by_total = min(mine, key=lambda c: (c["end_to_end_s"], c["k"]))
            out.append({
                "network": network, "strategy": strategy, "ks": len({c["k"] for c in mine}),
                "best_k_network": by_network["k"], "network_ms_at_it": by_network["network_ms"],
                "end_to_end_s_at_it": by_network["end_to_end_s"],
                "best_k_end_to_end": by_total["k"], "end_to_end_s": by_total["end_to_end_s"],
                "network_ms": by_total["network_ms"], "method": by_total["method"],
            })
    return out


def check_problems(rows: list[dict[str, Any]], cells: list[dict[str, Any]]) -> list[str]:
    """What ``--check`` refuses: a run that failed or broke safety, an end-to-end latency that
    is not network + ledger, a non-finite number, an exact placement beaten on network latency."""
    problems = []
    for row in rows:
        where = f"{row['network']} k={row['k']} {row['method']} {row['strategy']} seed {row['seed']}"
        if row["placement_status"] not in ("optimal", "feasible", "infeasible", "no_solution_found"):
            problems.append(f"{where}: placement status {row['placement_status']}")
        if row["placement_feasible"] and row["end_to_end_s"] is None:
            problems.append(f"{where}: no end-to-end latency ({row['why']})")
            continue
        if row["end_to_end_s"] is None:
            continue
        numbers = [row[key] for key in ("network_ms", "ledger_s", "end_to_end_s")]
        if not all(math.isfinite(v) and v >= 0 for v in numbers):
            problems.append(f"{where}: latency not a finite number >= 0: {numbers}")
        elif abs(row["end_to_end_s"] - (row["network_ms"] / 1000.0 + row["ledger_s"])) > _DECOMPOSITION_TOL_S:
            problems.append(f"{where}: end-to-end {row['end_to_end_s']} s != network + ledger")
        if row["safety_violations"]:
            problems.append(f"{where}: {row['safety_violations']} safety violations")
    exact = {(c["network"], c["k"]): c["network_ms"] for c in cells
             if c["method"] == "milp" and c["status"] == "optimal"}
    for cell in cells:
        best = exact.get((cell["network"], cell["k"]))
        if best is not None and cell["network_ms"] is not None and cell["network_ms"] < best - 1e-9:
            problems.append(f"{cell['network']} k={cell['k']}: {cell['method']} beats the optimal milp "
                            f"placement ({cell['network_ms']} < {best} ms)")
    return problems


def figure(cells: list[dict[str, Any]], strategies: list[str], method: str, out: Path) -> str | None:
    """End-to-end latency (s) against k per strategy, and network latency (ms) on a second
    axis, one panel per network, for ``method``'s placements."""
    networks = list(dict.fromkeys(c["network"] for c in cells))
    mine = [c for c in cells if c["method"] == method and c["end_to_end_s"] is not None]
    if not mine:
        return None
    fig, axes = new_figure(len(networks), width_in=5.5, height_in=3.8)
    axes = axes if len(networks) > 1 else [axes]
    for ax, network in zip(axes, networks, strict=True):
        here = [c for c in mine if c["network"] == network]
        for strategy in strategies:
            points = sorted((c["k"], c["end_to_end_s"]) for c in here if c["strategy"] == strategy)
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=strategy)
        ax.set_xlabel("k (servers = validators)")
        ax.set_ylabel("end-to-end twin latency (s)")
        ax.set_title(f"{network}, {method} placement")
        net = sorted({(c["k"], c["network_ms"]) for c in here})
        if net:
            twin_ax = ax.twinx()
            twin_ax.plot(*zip(*net, strict=True), color="grey", linestyle="--", label="network (ms)")
            twin_ax.set_ylabel("network latency to the server (ms)", color="grey")
        ax.legend(fontsize=7)
    save_figure(fig, out / FIGURE)
    return FIGURE
