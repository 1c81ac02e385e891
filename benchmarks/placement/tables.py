"""The placement benchmark's results: gaps to the best proven bound, the check, the summary
per method, and the columns of its tables and CSV."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from benchmarks.placement.cases import SPOPT

__all__ = ["add_gaps", "check_rows", "summarise"]

# Two objectives "agree" when they differ by at most this, relatively.
REL_TOL = 1e-9

TABLE_COLUMNS = {
    "network": "network",
    "n": "n",
    "k": "k",
    "eps_max": "eps_max",
    "method": "method",
    "avg_latency_ms": "avg latency ms",
    "gap": "gap",
    "avg_error": "avg error",
    "max_error": "max error",
    "runtime_s": "runtime s",
    "repeats": "runs",
    "status": "status",
}
CSV_COLUMNS = (
    "network",
    "source",
    "n",
    "links",
    "k",
    "eps_max",
    "method",
    "exact",
    "status",
    "avg_latency_ms",
    "bound_ms",
    "best_bound_ms",
    "gap",
    "best",
    "avg_error",
    "max_error",
    "max_latency_ms",
    "runtime_s",
    "repeats",
    "servers",
    "reason",
)


def _instance(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["source"], row["k"], row["eps_max"]


def add_gaps(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with ``best_bound_ms``, ``gap`` and ``best`` filled in, per instance.

    best_bound_ms : the largest lower bound proven by an exact registered method.
    gap : ``(avg_latency_ms - best_bound_ms) / best_bound_ms``, the relative excess
        over the best proven bound (0 for a proven optimum); ``None`` when the bound
        is 0 and the objective is above it (a relative excess is undefined).
    best : the row reaches the instance's best objective (relative ``REL_TOL``).
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[_instance(row)].append(row)
    out = []
    for row in rows:
        peers = groups[_instance(row)]
        bounds = [
            p["bound_ms"] for p in peers if p["method"] != SPOPT and p["exact"] and p["bound_ms"] is not None
        ]
        objectives = [p["avg_latency_ms"] for p in peers if p["avg_latency_ms"] is not None]
        bound = max(bounds) if bounds else None
        obj = row["avg_latency_ms"]
        gap = None
        if obj is not None and bound is not None and (bound > 0 or obj <= bound):
            # Relative to a zero bound, only "no excess" is defined; an excess stays None.
            gap = max(0.0, (obj - bound) / bound) if bound > 0 else 0.0
        best = obj is not None and obj <= min(objectives) * (1 + REL_TOL) + 1e-12
        out.append(row | {"best_bound_ms": bound, "gap": gap, "best": best})
    return out


def check_rows(rows: Sequence[dict[str, Any]], rel_tol: float = REL_TOL) -> list[str]:
    """Problems in a result table; empty when all is consistent.

    Flags: exact methods (spopt included) that disagree on a proven-optimal
    objective (relative ``rel_tol``) or on feasibility; a heuristic better than a
    proven optimum; a heuristic that claims a placement where an exact method
    proved none exists; any case that ended in ``error``.
    """
    problems = []
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[_instance(row)].append(row)
        if row["status"] == "error":
            problems.append(f"{_label(row)}: {row['method']} failed: {row['reason']}")
    for peers in groups.values():
        proven = [p for p in peers if p["exact"] and p["status"] == "optimal"]
        infeasible = [p for p in peers if p["exact"] and p["status"] == "infeasible"]
        if proven and infeasible:
            problems.append(
                f"{_label(peers[0])}: {', '.join(p['method'] for p in proven)} found an optimum but "
                f"{', '.join(p['method'] for p in infeasible)} proved the instance infeasible"
            )
        if proven:
            ref = min(proven, key=lambda p: p["avg_latency_ms"])
            opt = ref["avg_latency_ms"]
            for p in proven:
                if abs(p["avg_latency_ms"] - opt) > rel_tol * max(abs(opt), 1e-300):
                    problems.append(
                        f"{_label(p)}: exact methods disagree: {p['method']} {p['avg_latency_ms']!r} ms "
                        f"vs {ref['method']} {opt!r} ms"
                    )
            for p in peers:
                if (
                    not p["exact"]
                    and p["avg_latency_ms"] is not None
                    and p["avg_latency_ms"] < opt * (1 - rel_tol)
                ):
                    problems.append(
                        f"{_label(p)}: heuristic {p['method']} reports {p['avg_latency_ms']!r} ms, "
                        f"better than the optimum {opt!r} ms"
                    )
        if infeasible:
            problems.extend(
                f"{_label(p)}: {p['method']} reports a placement on an instance proven infeasible"
                for p in peers
                if not p["exact"] and p["avg_latency_ms"] is not None
            )
    return problems


def _label(row: dict[str, Any]) -> str:
    eps = "none" if row["eps_max"] is None else f"{row['eps_max']:g}"
    return f"{row['network']} k={row['k']} eps_max={eps}"


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method: cases, status counts, median and worst gap, median runtime, wins.

    A win is an instance where the method reached the best objective found and
    was the fastest of those that did. ``best`` counts instances where it reached
    the best objective; ``missed`` those where it found no placement although one
    exists (heuristics) or was stopped without one.
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[_instance(row)].append(row)
    wins: dict[str, int] = defaultdict(int)
    for peers in groups.values():
        reached = [p for p in peers if p.get("best") and p["runtime_s"] is not None]
        if reached:
            wins[min(reached, key=lambda p: p["runtime_s"])["method"]] += 1
    feasible_instances = {
        key for key, peers in groups.items() if any(p["avg_latency_ms"] is not None for p in peers)
    }
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        gaps = [r["gap"] for r in mine if r["gap"] is not None]
        times = [r["runtime_s"] for r in mine if r["runtime_s"] is not None]
        out.append(
            {
                "method": method,
                "exact": mine[0]["exact"],
                "cases": len(mine),
                "optimal": sum(r["status"] == "optimal" for r in mine),
                "best": sum(bool(r.get("best")) for r in mine),
                "missed": sum(
                    r["avg_latency_ms"] is None
                    and r["status"] not in ("skipped", "error")
                    and _instance(r) in feasible_instances
                    for r in mine
                ),
                "skipped": sum(r["status"] == "skipped" for r in mine),
                "errors": sum(r["status"] == "error" for r in mine),
                "median_gap": statistics.median(gaps) if gaps else None,
                "worst_gap": max(gaps) if gaps else None,
                "median_runtime_s": statistics.median(times) if times else None,
                "wins": wins[method],
            }
        )
    return out


SUMMARY_COLUMNS = {
    "method": "method",
    "exact": "exact",
    "cases": "cases",
    "optimal": "optimal",
    "best": "best found",
    "missed": "missed",
    "skipped": "skipped",
    "errors": "errors",
    "median_gap": "median gap",
    "worst_gap": "worst gap",
    "median_runtime_s": "median runtime s",
    "wins": "wins",
}


def _display(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r | {"eps_max": "none" if r["eps_max"] is None else r["eps_max"]} for r in rows]
