"""Placement variants: capacities, server failures, and the latency / error / servers front.

    python -m benchmarks.placement_variants --topology topozoo/TataNld --k 10 --variant capacitated
    python -m benchmarks.placement_variants --suite --k 5 --out out/variants
    python -m benchmarks.placement_variants --fronts --resilience --out out/variants

Three parts, each optional:

- cases (``--topology`` / ``--suite``): every network x k x variant, solved by the
  MILP (proven) and by interchange; the heuristic's gap and both runtimes (wall
  and CPU seconds: the CPU time is steadier on a shared machine). Capacitated
  cases use ``C = ceil(slack * n / k)``; reliable ones ``failure_prob``.
- ``--fronts``: the exact Pareto front (k = 1..10, every error bound) of the three
  networks standing for Fig. 3 of Wu et al. (2024), one figure each.
- ``--resilience``: on the same networks, k = 2..6, the standard and the reliable
  optimum: mean latency without failures against the mean over single server
  failures, one figure.

See docs/benchmarks.md for measured results.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dtopt
from benchmarks.common import output
from benchmarks.common.output import BenchmarkError
from benchmarks.common.sweep import add_arguments, run_cases, sweep_options
from benchmarks.placement import parse_eps_max, parse_k
from benchmarks.placement.pins import FIG3_NETWORKS

__all__ = ["Case", "main", "run_case"]

VARIANTS = ("capacitated", "reliable")
SUITE_NODES = (20, 150)
FRONT_K = range(1, 11)
RESILIENCE_K = range(2, 7)
# A heuristic "agrees" when within this relative excess of the optimum (the target is 1%).
HEURISTIC_TOLERANCE = 0.01

TABLE_COLUMNS = {
    "network": "network",
    "n": "n",
    "k": "k",
    "variant": "variant",
    "parameter": "C or q",
    "milp_status": "milp",
    "milp_ms": "optimum ms",
    "milp_s": "milp s",
    "milp_cpu_s": "milp cpu s",
    "interchange_ms": "interchange ms",
    "gap": "gap",
    "interchange_s": "interchange s",
    "interchange_cpu_s": "interchange cpu s",
}


@dataclass(frozen=True)
class Case:
    """One instance: a network, k and a variant (``parameter`` is C or q)."""

    network: str
    k: int
    variant: str
    parameter: float
    eps_max: float | None
    time_limit_s: float


def run_case(case: Case) -> dict[str, Any]:
    """Solve one case with the MILP and with interchange; a row (never raises on bad instances)."""
    topology = dtopt.load_topology(case.network)
    n = topology.n_nodes
    row: dict[str, Any] = {"network": topology.name, "n": n, "k": case.k, "variant": case.variant}
    row["parameter"] = case.parameter
    option = (
        {"capacity": int(case.parameter)}
        if case.variant == "capacitated"
        else {"failure_prob": case.parameter}
    )
    try:
        problem = dtopt.PlacementProblem(topology, case.k, eps_max=case.eps_max, **option)  # type: ignore[arg-type]
    except dtopt.DtoptError as err:
        return {**row, "milp_status": "skipped", "reason": str(err)}
    for method, options in (("milp", {"time_limit_s": case.time_limit_s}), ("interchange", {})):
        cpu = time.process_time()
        result = dtopt.solve(problem, method, **options)
        row[f"{method}_cpu_s"] = time.process_time() - cpu
        row[f"{method}_s"] = result.runtime_s
        row[f"{method}_status"] = result.status
        row[f"{method}_ms"] = result.expected_latency_ms or result.avg_latency_ms
        row[f"{method}_servers"] = list(result.servers)
        row["reason"] = row.get("reason") or result.reason
    if row["milp_ms"] is not None and row["interchange_ms"] is not None:
        row["gap"] = (row["interchange_ms"] - row["milp_ms"]) / row["milp_ms"] if row["milp_ms"] else 0.0
    return row


def build_cases(
    networks: list[str], ks: list[int], variants: list[str], args: argparse.Namespace
) -> list[Case]:
    """Every network x k x variant with k < n."""
    cases = []
    for network in networks:
        n = dtopt.load_topology(network).n_nodes
        for k in (k for k in ks if k < n):
            for variant in variants:
                parameter = math.ceil(args.slack * n / k) if variant == "capacitated" else args.failure_prob
                cases.append(Case(network, k, variant, parameter, args.eps_max, args.time_limit_s))
    return cases


def check_rows(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Violations: an unproven MILP, or a heuristic below the optimum."""
    problems = []
    for row in rows:
        label = f"{row['network']} k={row['k']} {row['variant']}"
        if row.get("milp_status") not in ("optimal", "infeasible", "skipped"):
            problems.append(f"{label}: milp {row.get('milp_status')} ({row.get('reason')})")
        if row.get("gap") is not None and row["gap"] < -1e-9:
            problems.append(f"{label}: interchange beats the proven optimum by {-row['gap']:.2e}")
    return problems


def fronts(
    networks: Sequence[str], out: Path | None, show_progress: bool = False
) -> tuple[list[dict[str, Any]], list[str]]:
    """The exact front of each network; summary rows and check violations."""
    rows, problems = [], []
    bar = output.progress(len(networks), "fronts", force=show_progress)
    for network in networks:
        cpu = time.process_time()
        front = dtopt.pareto(network, FRONT_K)
        cpu_s = time.process_time() - cpu
        unproven = [p for p in front.points if p.status != "optimal"]
        problems += [f"{front.topology} front: k={p.k} eps={p.eps_max:g} is {p.status}" for p in unproven]
        rows.append(
            {
                "network": front.topology,
                "points": len(front.points),
                "solved": front.solved,
                "dominated": front.dominated,
                "knees": sum(p.knee for p in front.points),
                "runtime_s": front.runtime_s,
                "cpu_s": cpu_s,
                "infeasible_k": list(front.infeasible_k),
            }
        )
        if out is not None:
            front.plot(out / f"front_{front.topology}.png")
            (out / f"front_{front.topology}.json").write_text(front.to_json(indent=2) + "\n")
        bar.update()
    bar.close()
    return rows, problems


def resilience(
    networks: Sequence[str], failure_prob: float, out: Path | None, show_progress: bool = False
) -> list[dict[str, Any]]:
    """Standard vs reliable optimum per network and k, scored under every single server failure."""
    rows = []
    bar = output.progress(len(networks), "resilience", force=show_progress)
    for network in networks:
        for k in RESILIENCE_K:
            base = dtopt.PlacementProblem(network, k, eps_max=None)
            for label, problem in (("standard", base), ("reliable", base.with_(failure_prob=failure_prob))):
                result = dtopt.solve(problem, "milp")
                ev = dtopt.evaluate(base, base.topology.indices(result.servers), failures="single")
                rows.append(
                    {
                        "network": base.topology.name,
                        "k": k,
                        "placement": label,
                        "avg_latency_ms": ev.avg_latency_ms,
                        "expected_latency_ms": dtopt.evaluate(
                            base.with_(failure_prob=failure_prob), base.topology.indices(result.servers)
                        ).expected_latency_ms,
                        "failure_mean_ms": ev.failures.mean_avg_latency_ms,  # type: ignore[union-attr]
                        "failure_worst_ms": ev.failures.worst_avg_latency_ms,  # type: ignore[union-attr]
                    }
                )
        bar.update()
    bar.close()
    if out is not None:
        _resilience_figure(rows, out / "resilience.png")
    return rows


def _resilience_figure(rows: list[dict[str, Any]], path: Path) -> Path:
    networks = list(dict.fromkeys(r["network"] for r in rows))
    fig, axes = output.new_figure(len(networks), width_in=4.2, height_in=3.6)
    axes = axes if len(networks) > 1 else [axes]
    for ax, network in zip(axes, networks, strict=True):
        for label, marker in (("standard", "o"), ("reliable", "s")):
            mine = [r for r in rows if r["network"] == network and r["placement"] == label]
            ax.plot(
                [r["avg_latency_ms"] for r in mine],
                [r["failure_mean_ms"] for r in mine],
                marker + "-",
                label=label,
            )
            for r in mine:
                ax.annotate(f"k={r['k']}", (r["avg_latency_ms"], r["failure_mean_ms"]), fontsize=6)
        ax.set_title(network)
        ax.set_xlabel("mean latency, no failure (ms)")
        ax.set_ylabel("mean latency after a server failure (ms)")
        ax.legend(fontsize=7)
    return output.save_figure(fig, path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.placement_variants", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--topology", "-t", action="append", default=[], metavar="NAME", help="network; repeatable"
    )
    parser.add_argument(
        "--suite",
        action="store_true",
        help=f"every Topology Zoo network of {SUITE_NODES[0]}..{SUITE_NODES[1]} nodes",
    )
    parser.add_argument("-k", "--k", dest="k", default="5", help="k values: 5, 2..10 or 1,3,5 (default 5)")
    parser.add_argument("--variant", action="append", choices=VARIANTS, help="repeatable (default both)")
    parser.add_argument(
        "--slack", type=float, default=1.2, help="capacity C = ceil(slack n / k) (default 1.2)"
    )
    parser.add_argument(
        "--failure-prob", type=float, default=0.05, help="server failure probability (default 0.05)"
    )
    parser.add_argument("--eps-max", default="none", help="error bound or 'none' (default none)")
    parser.add_argument(
        "--time-limit-s", type=float, default=600.0, help="MILP limit per solve (default 600)"
    )
    parser.add_argument("--fronts", action="store_true", help="exact fronts of the Fig. 3 networks")
    parser.add_argument("--resilience", action="store_true", help="standard vs reliable under failures")
    add_arguments(parser)
    parser.add_argument("--out", metavar="DIR", help="write results.csv/json, summary.md and figures here")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 on an unproven MILP or a heuristic below it"
    )
    return parser


def _validate(args: argparse.Namespace) -> None:
    if not (math.isfinite(args.slack) and args.slack >= 1):
        raise BenchmarkError(f"--slack must be >= 1 (total capacity >= n), got {args.slack}")
    if not 0 <= args.failure_prob < 1:
        raise BenchmarkError(f"--failure-prob must be in [0, 1), got {args.failure_prob}")
    if not (math.isfinite(args.time_limit_s) and args.time_limit_s > 0):
        raise BenchmarkError(f"--time-limit-s must be a positive number of seconds, got {args.time_limit_s}")
    if not (args.topology or args.suite or args.fronts or args.resilience):
        raise BenchmarkError("nothing to run: give --topology, --suite, --fronts or --resilience")


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (bad input raises BenchmarkError)."""
    args = build_parser().parse_args(argv)
    _validate(args)
    sweep = sweep_options(args)
    args.eps_max = parse_eps_max(args.eps_max)
    networks = [dtopt.load_topology(name).source for name in args.topology]
    if args.suite:
        lo, hi = SUITE_NODES
        networks += [t.key for t in dtopt.list_topologies("topozoo") if lo <= t.n_nodes <= hi]
    cases = build_cases(list(dict.fromkeys(networks)), parse_k(args.k), args.variant or list(VARIANTS), args)
    out = output.out_dir(args.out) if args.out else None
    start = time.perf_counter()
    rows = run_cases(run_case, cases, desc="variants", **sweep) if cases else []
    problems = check_rows(rows)
    sections = []
    if rows:
        table = output.markdown_table(rows, TABLE_COLUMNS)
        print(table)
        sections.append(("MILP vs interchange", table))
    front_rows, front_problems = fronts(FIG3_NETWORKS, out, args.progress) if args.fronts else ([], [])
    problems += front_problems
    if front_rows:
        table = output.markdown_table(front_rows, list(front_rows[0]))
        print(f"\n{table}")
        sections.append(("Exact Pareto fronts, k = 1..10", table))
    resilience_rows = (
        resilience(FIG3_NETWORKS, args.failure_prob, out, args.progress) if args.resilience else []
    )
    if resilience_rows:
        table = output.markdown_table(resilience_rows, list(resilience_rows[0]))
        print(f"\n{table}")
        sections.append(
            (f"Standard vs reliable (q = {args.failure_prob:g}) under single server failures", table)
        )
    wall_s = time.perf_counter() - start
    print(f"\n{len(cases)} case(s), {len(front_rows)} front(s) in {wall_s:.1f} s wall time.")
    if out is not None:
        columns = sorted({key for row in rows for key in row})
        payload = {
            "benchmark": "placement_variants",
            "command": sys.argv,
            "environment": output.environment(),
        }
        payload |= {"rows": rows, "fronts": front_rows, "resilience": resilience_rows, "problems": problems}
        written = [
            output.write_csv(out / "results.csv", rows, columns),
            output.write_json(out / "results.json", payload),
            output.write_summary(out / "summary.md", "Placement variants", sections),
        ]
        print("wrote " + ", ".join(str(p) for p in [*written, *sorted(out.glob("*.png"))]))
    if args.check:
        passed = "every MILP proven, no heuristic below the optimum, every front point proven."
        return output.report_check(problems, passed)
    return 0
