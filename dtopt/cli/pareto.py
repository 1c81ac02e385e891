"""``dtopt pareto``: the exact latency / error / servers Pareto front of a network."""

from __future__ import annotations

import argparse

from dtopt.cli._out import output_dir, report_written
from dtopt.cli.place import add_problem_arguments, capacity_value, model_options, topology_of, write_placement
from dtopt.errors import DtoptError
from dtopt.placement.problem import PlacementProblem
from dtopt.solvers.pareto import ParetoFront, ParetoPoint, pareto


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "pareto",
        help="Pareto front of mean latency, error bound and number of servers",
        description="For each k, solve every twin-error bound that changes the optimum (exact "
        "epsilon-constraint), drop dominated points and mark each k's knee.",
    )
    parser.add_argument("-k", required=True, help="numbers of servers: 1..10, 1,3,5 or 4")
    add_problem_arguments(parser)
    parser.add_argument("--method", "-m", default="milp", help="method for each bound (default milp: proven)")
    parser.add_argument(
        "--time-limit-s", "--time-limit", dest="time_limit", type=float,
        help="time limit per solve in s (milp)",
    )
    parser.add_argument(
        "--out", metavar="DIR",
        help="directory for front.json, pareto.png and, per k, one placement (its knee, else its lowest "
        "mean latency) as a map (placement_k<k>.png) and GeoJSON (placement_k<k>.geojson)",
    )
    parser.add_argument("--json", action="store_true", help="print the front as one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    topology = topology_of(args)
    out = output_dir(args.out) if args.out else None  # refused before the solves, not after them
    options = {} if args.time_limit is None else {"time_limit_s": args.time_limit}
    model = {"alpha": args.alpha, "beta": args.beta, "rate_km_per_ms": args.rate,
             "capacity": capacity_value(args.capacity), **model_options(args, topology)}
    front = pareto(topology, parse_k_range(args.k), method=args.method, **model, **options)
    if args.json:
        print(front.to_json())
    else:
        print(table(front))
    if out is not None:
        paths = [out / "front.json", front.plot(out / "pareto.png")]
        paths[0].write_text(front.to_json(indent=2) + "\n")
        report_written(out, paths)
        for point in _shown(front):
            problem = PlacementProblem(topology, point.k, eps_max=point.eps_max, **model)
            write_placement(out, problem, point.servers, point.method, False, stem=f"placement_k{point.k}")
    return 0


def _shown(front: ParetoFront) -> list[ParetoPoint]:
    """Per k, the point to draw: its knee, else its lowest mean latency."""
    best: dict[int, ParetoPoint] = {}
    for p in front.points:
        held = best.get(p.k)
        if held is None or (p.knee, -p.avg_latency_ms) > (held.knee, -held.avg_latency_ms):
            best[p.k] = p
    return [best[k] for k in sorted(best)]


def parse_k_range(text: str) -> list[int]:
    """``"1..10"``, ``"1,3,5"`` or ``"4"`` as a list of ints; an empty range is an error."""
    try:
        if ".." in text:
            lo, hi = (int(part) for part in text.split("..", 1))
            values = list(range(lo, hi + 1))
        else:
            values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise DtoptError(f"-k must look like 1..10, 1,3,5 or 4, got {text!r}") from None
    if not values:
        raise DtoptError(f"-k {text!r} is an empty range")
    return values


def table(front: ParetoFront) -> str:
    """The front as a Markdown table, with a one-line summary."""
    lines = [
        f"{front.topology}: {len(front.points)} Pareto points from {front.solved} solved bounds "
        f"({front.dominated} dominated) in {front.runtime_s:.2f} s, method {front.method}",
        "",
        "| k | eps bound | max error | max hops | avg latency ms | status | knee | s |",
        "|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    lines += [
        f"| {p.k} | {p.eps_max:.4g} | {p.max_error:.4g} | {p.max_hops} | {p.avg_latency_ms:.4f} | {p.status} "
        f"| {'knee' if p.knee else ''} | {p.runtime_s:.3f} |"
        for p in front.points
    ]
    if front.infeasible_k:
        lines.append(f"\nno feasible placement for k = {', '.join(map(str, front.infeasible_k))}")
    return "\n".join(lines)
