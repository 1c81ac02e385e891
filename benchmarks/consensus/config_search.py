"""Budgeted configuration search against the exhaustive one, on synthetic chain-like landscapes.

    taskset -c 1 python -m benchmarks.config_search [--seeds 200] [--replicas 64,256] [--eta 2,4]
        [--budget 0.25] [--throughput-slack 0.01] [--z 2] [--oracle-call-ms MS]
        [--oracle-replica-ms MS] [--check] [--out DIR]

Per seed: a random :class:`~dtopt.twin.config_search.SyntheticLandscape` (arrival
rate, bandwidth, message delay, offline share, noise), the default 2 x 4 x 4 x 4
space (128 configurations), one exhaustive decision (``R`` replicas per
configuration) and one successive-halving decision on ``--budget`` of that budget,
each with its own evaluator seed. Reported per case (medians over seeds where
times):

* ``within 1% of exhaustive``: share of seeds where halving's choice is, on the
  landscape's true means, within 1% of the exhaustive choice's latency and at most
  1% short of the arrival rate (or of the exhaustive choice's throughput, when
  that falls short); ``within 1% of optimum``: the same against the true
  constrained optimum (the exhaustive rows: the exhaustive search's own accuracy);
  ``worst latency / optimum's``: the largest ratio of the choice's true latency to
  the optimum's over the seeds (below 1 when the choice is faster by missing the
  rate);
* ``budget``: the largest share of the exhaustive budget used, and the calls to
  ``evaluate`` per decision;
* ``search ms``: the decider's own time (wall time less the evaluator's);
* ``oracle ms``: the time the twin's oracle would take for the same calls, from a
  cost model ``calls x oracle-call-ms + replica-evaluations x oracle-replica-ms``,
  i.e. with every call's configurations stacked along the oracle's replica axis;
  ``oracle ms, one call per config`` charges the call overhead per configuration
  instead (an oracle that cannot batch configurations). Unless both are given,
  the two costs are measured at start (:func:`calibrate_oracle`: the twin's
  ``RoundOracle.predict``, paper preset, 10 validators, one 25 s horizon), in the
  same process and under the same load as the search; the synthetic evaluator
  itself is far cheaper than the oracle.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.common.output import (
    environment,
    markdown_table,
    out_dir,
    progress,
    write_csv,
    write_json,
    write_summary,
)
from dtopt.errors import DtoptError
from dtopt.twin.config_search import (
    ConfigurationBatch,
    ConfigurationDecider,
    ConfigurationDecision,
    ConfigurationSpace,
    Evaluate,
    SyntheticLandscape,
    choose,
)

COLUMNS = {
    "case": "case", "seeds": "seeds", "vs_exhaustive": "within 1% of exhaustive",
    "vs_optimum": "within 1% of optimum", "worst_ratio": "worst latency / optimum's",
    "budget_max": "budget used (max)", "calls": "calls",
    "search_ms": "search ms", "oracle_ms": "oracle ms (model)",
    "oracle_per_config_ms": "oracle ms, one call per config (model)",
}


class _Timed:
    """Wraps an evaluator: its wall time and the configurations of each call."""

    def __init__(self, evaluate: Evaluate) -> None:
        self.evaluate, self.seconds, self.configs = evaluate, 0.0, 0

    def __call__(self, batch: ConfigurationBatch, replicas: int) -> tuple[Any, Any]:
        start = time.perf_counter()
        out = self.evaluate(batch, replicas)
        self.seconds += time.perf_counter() - start
        self.configs += len(batch)
        return out


def calibrate_oracle(repeats: int = 7) -> tuple[float, float]:
    """Cost (ms) per call and per replica of the twin's oracle, measured here and now.

    ``RoundOracle.predict`` on the paper preset's 10 validators, one 25 s horizon,
    IBFT, with R = 8 and R = 256 (medians of ``repeats``), in its first two regimes
    (everyone online; 2 offline); a line through the two R per regime, averaged.
    """
    import numpy as np

    from dtopt.consensus import load_scenario
    from dtopt.twin import OracleState, RoundOracle

    scenario = load_scenario("paper", 200.0, seed=1)
    config = scenario.config
    fits = []
    for regime in scenario.regimes[:2]:
        state = OracleState(
            online=np.array([name not in regime.offline for name in config.validators]),
            bandwidth_mbps=np.array(regime.bandwidth_mbps), tx_rate_per_s=regime.tx_rate_per_s,
            jitter_s=regime.jitter_s,
        )
        ms = {}
        for replicas in (8, 256):
            oracle = RoundOracle(config, replicas=replicas, seed=0)
            oracle.predict(state, "IBFT", 25.0)  # warm-up
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                oracle.predict(state, "IBFT", 25.0)
                times.append(time.perf_counter() - start)
            ms[replicas] = statistics.median(times) * 1e3
        per_replica = max(0.0, (ms[256] - ms[8]) / 248)
        fits.append((ms[8] - 8 * per_replica, per_replica))
    return statistics.fmean(f[0] for f in fits), statistics.fmean(f[1] for f in fits)


def run_case(
    space: ConfigurationSpace, decider: ConfigurationDecider, method: str, seeds: int,
    call_ms: float, replica_ms: float, bar: Any,
) -> dict[str, object]:
    """One decider and method over ``seeds`` landscapes (halving compared with exhaustive)."""
    exhaustive = ConfigurationDecider(
        replicas=decider.replicas, throughput_slack=decider.throughput_slack, z=decider.z
    )
    hits = {"vs_exhaustive": 0, "vs_optimum": 0}
    fractions, calls, search_ms, oracle_ms, per_config_ms, ratios = [], [], [], [], [], []
    for seed in range(seeds):
        landscape = SyntheticLandscape.random(seed)
        lat, thr = landscape.true_means(space.batch())
        best = choose(lat, thr, thr >= (1 - decider.throughput_slack) * landscape.arrival_rate_tps)
        optimum = space[best]
        rate = landscape.arrival_rate_tps
        reference = exhaustive.decide(space, landscape.sampler(seed), rate, "exhaustive")
        timed = _Timed(landscape.sampler(seed + 10**6))
        start = time.perf_counter()
        decision: ConfigurationDecision = decider.decide(space, timed, landscape.arrival_rate_tps, method)
        search_ms.append((time.perf_counter() - start - timed.seconds) * 1e3)
        picked = decision.configuration
        hits["vs_exhaustive"] += landscape.as_good(space, picked, reference.configuration)
        hits["vs_optimum"] += landscape.as_good(space, picked, optimum)
        ratios.append(lat[space.index(picked)] / lat[best])
        fractions.append(decision.budget_fraction)
        calls.append(decision.calls)
        oracle_ms.append(decision.calls * call_ms + decision.replicas_used * replica_ms)
        per_config_ms.append(timed.configs * call_ms + decision.replicas_used * replica_ms)
        bar.update(1)
    label = "exhaustive" if method == "exhaustive" else (
        f"halving eta={decider.eta}, budget {decider.budget_fraction:g}"
    )
    return {
        "case": f"{label}, R={decider.replicas}", "seeds": seeds,
        "vs_exhaustive": hits["vs_exhaustive"] / seeds, "vs_optimum": hits["vs_optimum"] / seeds,
        "worst_ratio": max(ratios),
        "budget_max": max(fractions), "calls": statistics.median(calls),
        "search_ms": statistics.median(search_ms), "oracle_ms": statistics.median(oracle_ms),
        "oracle_per_config_ms": statistics.median(per_config_ms),
    }


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise DtoptError(f"expected comma-separated integers, got {text!r}") from None
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.config_search", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seeds", type=int, default=200, help="landscapes per case (default 200)")
    parser.add_argument("--replicas", default="64,256", help="exhaustive replicas per configuration (list)")
    parser.add_argument("--eta", default="2,4", help="halving factors (list, default 2,4)")
    parser.add_argument("--budget", type=float, default=0.25, help="halving budget / exhaustive budget")
    parser.add_argument("--throughput-slack", type=float, default=0.01, help="the deciders' throughput_slack")
    parser.add_argument("--z", type=float, default=2.0, help="the deciders' z (standard errors)")
    parser.add_argument("--oracle-call-ms", type=float, default=None,
                        help="modelled oracle cost per call (default: measured at start)")
    parser.add_argument("--oracle-replica-ms", type=float, default=None,
                        help="modelled oracle cost per replica-evaluation (default: measured at start)")
    parser.add_argument("--min-success", type=float, default=0.95,
                        help="--check: least share within 1%% of exhaustive for every halving case")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 unless every halving case uses <= the budget and meets --min-success")
    parser.add_argument("--progress", action="store_true", help="progress bar even when not on a terminal")
    parser.add_argument("--out", default=None, help="also write results.csv/json and summary.md here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    replicas, etas = _ints(args.replicas), _ints(args.eta)
    costs = (args.oracle_call_ms, args.oracle_replica_ms)
    if args.seeds < 1 or any(c is not None and not c >= 0 for c in costs):
        raise DtoptError("--seeds must be >= 1 and the oracle costs >= 0")
    space = ConfigurationSpace()
    rule = {"throughput_slack": args.throughput_slack, "z": args.z}
    cases = [(ConfigurationDecider(replicas=r, **rule), "exhaustive") for r in replicas]
    cases += [(ConfigurationDecider(replicas=r, eta=e, budget_fraction=args.budget, **rule), "halving")
              for r in replicas for e in etas]
    if None in costs:
        measured = calibrate_oracle()
        costs = tuple(m if c is None else c for c, m in zip(costs, measured, strict=True))
    print(f"oracle cost model: {costs[0]:.2f} ms per call + {costs[1]:.4f} ms per replica", file=sys.stderr)
    bar = progress(len(cases) * args.seeds, "config search", force=args.progress)
    rows = [run_case(space, d, m, args.seeds, *costs, bar) for d, m in cases]
    bar.close()
    table = markdown_table(rows, COLUMNS)
    print(table)
    if args.out:
        out = out_dir(args.out)
        write_csv(out / "results.csv", rows, list(COLUMNS))
        write_json(out / "results.json", {
            "benchmark": "config_search", "environment": environment(), "parameters": vars(args),
            "oracle_call_ms": costs[0], "oracle_replica_ms": costs[1], "rows": rows,
        })
        model = f"{costs[0]:.2f} ms per oracle call + {costs[1]:.4f} ms per replica"
        sections = [(f"{len(space)} configurations", table), ("Oracle cost model", model)]
        print(write_summary(out / "summary.md", "Configuration search", sections))
    failed = [row["case"] for row in rows if str(row["case"]).startswith("halving")
              and (row["budget_max"] > args.budget or row["vs_exhaustive"] < args.min_success)]
    if args.check and failed:
        print(f"check failed: {'; '.join(map(str, failed))}", file=sys.stderr)
        return 1
    return 0
