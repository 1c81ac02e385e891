"""``dtopt place``: solve a digital-twin placement problem."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from dtopt.cli._out import output_dir, report_written, write_json
from dtopt.errors import DtoptError
from dtopt.placement.evaluate import evaluate
from dtopt.placement.failures import SingleFailures
from dtopt.placement.maps import placement_geojson, plot_placement
from dtopt.placement.problem import DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_EPS_MAX, PlacementProblem
from dtopt.solvers import available_methods, solve
from dtopt.topology import DEFAULT_RATE_KM_PER_MS, Topology, load_topology
from dtopt.topology.sources import node_attribute


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "place",
        help="place k digital-twin servers on a network",
        description="Place k digital-twin servers so that the mean synchronisation latency is minimal "
        "while every node's twin error stays within eps_max.",
    )
    parser.add_argument("-k", type=int, required=True, help="number of servers")
    parser.add_argument(
        "--method", "-m", default="milp", help=f"one of: {', '.join(available_methods())} (default milp)"
    )
    parser.add_argument(
        "--eps-max",
        default=str(DEFAULT_EPS_MAX),
        help=f"twin-error bound, or 'none' (default {DEFAULT_EPS_MAX})",
    )
    add_problem_arguments(parser)
    parser.add_argument(
        "--objective",
        choices=("mean", "max"),
        default="mean",
        help="mean latency (default), or max: the worst node's latency first (p-center), then the mean",
    )
    parser.add_argument(
        "--failure-prob", type=float, help="reliable placement: each server fails with this probability q"
    )
    parser.add_argument(
        "--failures", choices=("single",), help="also score every single server and link failure"
    )
    parser.add_argument("--seed", type=int, help="random seed of a heuristic")
    parser.add_argument(
        "--time-limit-s", "--time-limit", dest="time_limit", type=float, help="time limit in s (milp)"
    )
    parser.add_argument("--solver", help="Pyomo solver for milp (default highs)")
    parser.add_argument(
        "--formulation", help="milp formulation: auto (default), benders, classic, radius or tree"
    )
    parser.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any method option (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument(
        "--out", metavar="DIR",
        help="also write result.json, placement.png (a map: servers, each node joined to its server) "
        "and placement.geojson to DIR",
    )
    parser.set_defaults(func=run)


def add_problem_arguments(parser: argparse.ArgumentParser) -> None:
    """The network and model arguments shared by ``place`` and ``pareto``."""
    parser.add_argument(
        "--topology", "-t", required=True, help="topohub key, Topology Zoo name, or GML/GraphML path"
    )
    parser.add_argument(
        "--alpha", type=float, default=DEFAULT_ALPHA, help=f"error scale (default {DEFAULT_ALPHA})"
    )
    parser.add_argument(
        "--beta", type=float, default=DEFAULT_BETA, help=f"per-hop loss (default {DEFAULT_BETA})"
    )
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE_KM_PER_MS, help="propagation rate in km/ms (default 200)"
    )
    parser.add_argument(
        "--capacity",
        help="twins per server: one integer, or one per node comma-separated (default unlimited)",
    )
    parser.add_argument(
        "--weights",
        metavar="ATTR|FILE",
        help="demand weights: a node attribute of the network file, or a file of 'name,weight' lines "
        "(or one weight per line in node order); the mean latency becomes the weighted mean",
    )
    parser.add_argument(
        "--candidates",
        metavar="NAMES|FILE",
        help="the nodes that may host a server: comma-separated names, or a file with one per line",
    )
    parser.add_argument(
        "--fixed",
        metavar="NAMES|FILE",
        help="existing servers every placement keeps (among the candidates, at most k): names or a file",
    )
    parser.add_argument(
        "--missing-coordinates",
        default="refuse",
        help="nodes without coordinates: refuse (default), impute, drop, or a link length in km",
    )
    parser.add_argument(
        "--components", default="largest", help="disconnected input: largest (default) or refuse"
    )
    parser.add_argument(
        "--length-attribute",
        metavar="NAME",
        help="link attribute holding the length in km (default: dist, "
        "length_km, else great-circle distances from coordinates)",
    )


def topology_of(args: argparse.Namespace) -> Topology:
    """The network named by :func:`add_problem_arguments`' arguments."""
    return load_topology(
        args.topology,
        missing_coordinates=_missing_coordinates(args.missing_coordinates),
        components=args.components,
        length_attribute=args.length_attribute,
    )


def model_options(args: argparse.Namespace, topology: Topology) -> dict[str, Any]:
    """``weights``, ``candidates`` and ``fixed`` of :class:`PlacementProblem` from
    :func:`add_problem_arguments`' arguments (validated by the problem)."""
    return {
        "weights": None if args.weights is None else weights_value(args.weights, args.topology, topology),
        "candidates": _names(args.candidates, "--candidates"),
        "fixed": _names(args.fixed, "--fixed"),
    }


def weights_value(text: str, source: str, topology: Topology) -> np.ndarray:
    """``--weights``: a file (``name,weight`` lines, or one weight per line in node order;
    blank lines and ``#`` comments skipped) if ``text`` is one, else a node attribute of
    ``source``; one weight per node of ``topology``."""
    path = Path(text)
    if path.is_file():
        by_name = _weights_file(path, topology.n_nodes)
        if isinstance(by_name, list):
            return _numbers(by_name, f"--weights file {text}")
        where = f"--weights file {text}"
    else:
        by_name = node_attribute(source, text)
        if not by_name:
            raise DtoptError(
                f"--weights {text!r} is neither a file nor an attribute of any node of {source!r}"
            )
        where = f"--weights attribute {text!r}"
    missing = [name for name in topology.node_names if name not in by_name]
    if missing:
        raise DtoptError(f"{where} gives no weight for {len(missing)} node(s), e.g. {missing[0]!r}")
    return _numbers([by_name[name] for name in topology.node_names], where)


def _weights_file(path: Path, n: int) -> dict[str, object] | list[object]:
    """A weights file's ``name,weight`` pairs by name, or its bare values in node order."""
    try:
        lines = [line.strip() for line in path.read_text().splitlines()]
    except (OSError, UnicodeDecodeError) as err:
        raise DtoptError(f"cannot read --weights file {path}: {err}") from None
    lines = [line for line in lines if line and not line.startswith("#")]
    if all("," not in line for line in lines):
        if len(lines) != n:
            raise DtoptError(f"--weights file {path} holds {len(lines)} values for {n} nodes")
        return lines
    pairs = [line.rsplit(",", 1) for line in lines]
    if pairs and _numbers_or_none(pairs[0][-1]) is None:
        pairs = pairs[1:]  # a header line
    return {name.strip(): value.strip() for name, value in pairs}


def _numbers_or_none(text: object) -> float | None:
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _numbers(values: list[object], where: str) -> np.ndarray:
    parsed = [_numbers_or_none(value) for value in values]
    bad = [value for value, number in zip(values, parsed, strict=True) if number is None]
    if bad:
        raise DtoptError(f"{where}: weights must be numbers, got {bad[0]!r}")
    return np.asarray(parsed, dtype=float)


def _names(text: str | None, option: str) -> list[str] | None:
    """``--candidates`` / ``--fixed``: a file with one name per line, or comma-separated names."""
    if text is None:
        return None
    path = Path(text)
    if path.is_file():
        try:
            names = path.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise DtoptError(f"cannot read {option} file {path}: {err}") from None
    else:
        names = text.split(",")
    names = [name.strip() for name in names if name.strip() and not name.strip().startswith("#")]
    if not names:
        raise DtoptError(f"{option} names no node")
    return names


def capacity_value(text: str | None) -> int | tuple[int, ...] | None:
    """``--capacity``: ``None``, one integer, or comma-separated integers (validated by the problem)."""
    if text is None:
        return None
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise DtoptError(
            f"--capacity must be a positive integer or comma-separated integers, got {text!r}"
        ) from None
    return values[0] if len(values) == 1 else values


def run(args: argparse.Namespace) -> int:
    topology = topology_of(args)
    problem = PlacementProblem(
        topology,
        args.k,
        eps_max=_eps_max(args.eps_max),
        alpha=args.alpha,
        beta=args.beta,
        rate_km_per_ms=args.rate,
        capacity=capacity_value(args.capacity),
        failure_prob=args.failure_prob,
        objective=args.objective,
        **model_options(args, topology),
    )
    options = dict(_option(text) for text in args.option)
    for name, value in (
        ("seed", args.seed),
        ("time_limit_s", args.time_limit),
        ("solver", args.solver),
        ("formulation", args.formulation),
    ):
        if value is not None:
            options[name] = value
    out = output_dir(args.out) if args.out else None  # refused before the solve, not after it
    result = solve(problem, args.method, **options)
    failures = None
    if args.failures and result.feasible:
        failures = evaluate(problem, result.servers, failures=args.failures).failures
    payload = result.to_dict()
    if failures is not None:
        payload["failures"] = failures.to_dict()
    if out is not None:
        write_placement(out, problem, result.servers, result.method, failures is not None, payload)
    if args.json:
        print(json.dumps(payload, allow_nan=False))
        return 0
    print(_summary(problem, result))
    if failures is not None:
        print(_failure_summary(failures))
    return 0


def write_placement(
    out: Path, problem: PlacementProblem, servers: tuple[str, ...], method: str, failures: bool,
    payload: dict[str, Any] | None = None, stem: str = "placement",
) -> list[Path]:
    """``--out``: the placement's map (PNG) and GeoJSON, and ``result.json`` when a payload is
    given; says where they went. A result without a placement writes only its JSON."""
    paths = [write_json(out / "result.json", payload)] if payload is not None else []
    if servers:
        geojson = placement_geojson(problem, servers, method=method, failures=failures)
        paths += [write_json(out / f"{stem}.geojson", geojson),
                  plot_placement(problem, servers, out / f"{stem}.png", method=method, failures=failures)]
    report_written(out, paths)
    return paths


def _failure_summary(failures: SingleFailures) -> str:
    servers = (
        f"server failures: avg latency mean {failures.mean_avg_latency_ms:.4f} ms, "
        f"worst {failures.worst_avg_latency_ms:.4f} ms"
        if failures.worst_avg_latency_ms is not None
        else "server failures: the only server down leaves every node without a twin"
    )
    return "\n".join(
        [
            servers,
            f"link failures: avg latency mean {failures.mean_link_avg_latency_ms:.4f} ms, "
            f"worst {failures.worst_link_avg_latency_ms:.4f} ms",
            f"over all single failures: worst max latency {failures.worst_max_latency_ms:.4f} ms, "
            f"worst max error {failures.worst_max_error:.4f}, up to {failures.worst_beyond_eps} node(s) "
            f"beyond eps_max, up to {failures.worst_lost} node(s) cut off",
        ]
    )


def _eps_max(text: str) -> float | None:
    if text.strip().lower() in ("none", "inf", "off"):
        return None
    try:
        return float(text)
    except ValueError:
        raise DtoptError(f"--eps-max must be a number or 'none', got {text!r}") from None


def _missing_coordinates(text: str) -> str | float:
    if text in ("refuse", "impute", "drop"):
        return text
    try:
        return float(text)
    except ValueError:
        raise DtoptError(
            f"--missing-coordinates must be refuse, impute, drop or a length in km, got {text!r}"
        ) from None


def _option(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise DtoptError(f"--option takes NAME=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a bare word such as a solver name
    return name.strip().replace("-", "_"), value


def _summary(problem: PlacementProblem, result: Any) -> str:
    topo = problem.topology
    eps = "none" if problem.eps_max is None else f"{problem.eps_max:g}"
    lines = [
        f"{topo.name}: {topo.n_nodes} nodes, {topo.n_links} links; k={problem.k}, eps_max={eps}"
        + (f", capacity={problem.capacity}" if problem.capacity is not None else "")
        + (f", failure_prob={problem.failure_prob:g}" if problem.failure_prob is not None else "")
        + (", weighted" if problem.weights is not None else "")
        + (f", {problem.n_sites} candidate sites" if problem.candidates is not None else "")
        + (f", {len(problem.fixed)} fixed" if problem.fixed is not None else "")
        + (", objective=max (p-center)" if problem.objective == "max" else ""),
        f"{result.method}: {result.status} in {result.runtime_s:.3f} s",
    ]
    lines += [f"note: {note}" for note in topo.notes]
    if result.feasible:
        lines += [
            f"servers: {'; '.join(result.servers)}",
            f"avg latency {result.avg_latency_ms:.4f} ms (max {result.max_latency_ms:.4f} ms)"
            + (
                f"; avg error {result.avg_error:.4f} (max {result.max_error:.4f})"
                if result.avg_error is not None
                else ""
            ),
        ]
        if result.expected_latency_ms is not None:
            lines.append(
                f"expected avg latency {result.expected_latency_ms:.4f} ms over server failures "
                f"(q={problem.failure_prob:g})"
            )
        if result.bound is not None:
            on = " on the worst latency" if problem.objective == "max" else ""
            lines.append(f"lower bound{on} {result.bound:.4f} ms, gap {result.gap:.2e}")
        elif result.gap is not None:
            lines.append(f"gap to the given optimum {result.gap:.2e}")
    if result.reason:
        lines.append(f"reason: {result.reason}")
    return "\n".join(lines)
