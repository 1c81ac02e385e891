"""``dtopt pareto``: the exact latency / error / servers Pareto front of a network."""

from __future__ import annotations

import argparse
from pathlib import Path

from dtopt.cli.place import add_problem_arguments, capacity_value, model_options, topology_of
from dtopt.errors import DtoptError
from dtopt.solvers.pareto import ParetoFront, pareto


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
    parser.add_argument("--out", help="directory for front.json and pareto.png")
    parser.add_argument("--json", action="store_true", help="print the front as one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    topology = topology_of(args)
    options = {} if args.time_limit is None else {"time_limit_s": args.time_limit}
    front = pareto(
        topology,
        parse_k_range(args.k),
        alpha=args.alpha,
        beta=args.beta,
        rate_km_per_ms=args.rate,
        capacity=capacity_value(args.capacity),
        method=args.method,
        **model_options(args, topology),
        **options,
    )
    if args.json:
        print(front.to_json())
    else:
        print(table(front))
    if args.out:
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DtoptError(f"cannot create output directory {out}: {err.strerror}") from None
        (out / "front.json").write_text(front.to_json(indent=2) + "\n")
        print(f"wrote {out / 'front.json'} and {front.plot(out / 'pareto.png')}")
    return 0


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
