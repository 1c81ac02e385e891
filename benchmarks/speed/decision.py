"""Speed of one configuration decision with the round oracle as the cost function.

    python -m benchmarks.decision_speed [--replicas 32] [--eta 16] [--repeats 20] [--out DIR]

For the paper preset's 10 validators, the chain's true state at a twin-interval
boundary of a steady regime and of a faulty one (``benchmarks.consensus.true_state``
on an IBFT run), one decision over the default 2 x 4 x 4 x 4 space (128
configurations) with the successive-halving search on a quarter of the
exhaustive replica budget, the oracle sampling ``--horizon-s`` (the configuration
twin's default: two twin intervals, 50 s) per replica. Times are medians over ``--repeats`` decisions
(each with a fresh seed), wall and CPU, on one core. Quality: every halving pick
is compared with the exhaustive decision (same replicas per configuration,
seed 0): ``equal`` counts identical picks, ``within 1%`` those whose latency, as
the exhaustive decision estimates it, is at most 1% above the exhaustive pick's
(and that meet the rate whenever the exhaustive pick does). ``--check`` fails
unless every median is within 100 ms and every pick within 1%. ``--incumbent``
times the twin's stable rule instead: every decision (the exhaustive reference
too) is given the paper's genesis configuration (IBFT 1 MB / 0.1 s / 10 s) as
the configuration in force and as home, with the twin's default switching cost
and departure margin.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.common.output import (
    BenchmarkParser,
    markdown_table,
    out_dir,
    progress,
    report_check,
    write_table_outputs,
)
from benchmarks.consensus import true_state
from benchmarks.speed.oracle import _pin_one_core
from dtopt.consensus import load_scenario
from dtopt.consensus.chain import Chain
from dtopt.errors import DtoptError
from dtopt.twin import OracleState, RoundOracle
from dtopt.twin.config_search import ConfigurationDecider, ConfigurationDecision, ConfigurationSpace
from dtopt.twin.config_search.oracle_cost import oracle_evaluator
from dtopt.twin.configure import configuration_of
from dtopt.twin.twin import SWITCH_COST_S, SWITCH_MARGIN

COLUMNS = {
    "case": "case", "median_ms": "median ms", "min_ms": "min ms", "max_ms": "max ms",
    "cpu_median_ms": "CPU median ms", "budget": "budget used", "equal": "equal to exhaustive",
    "within_1pct": "within 1%", "exhaustive_ms": "exhaustive ms", "target": "target",
}
TARGET_MS = 100.0
STATES = (("steady", 75.0), ("faulty", 175.0))  # a twin-interval boundary inside regime 0 and 1


def states() -> list[tuple[str, OracleState, float]]:
    """(label, true state, arrival rate) at the boundaries of :data:`STATES` (paper preset, seed 1)."""
    scenario = load_scenario("paper", 2000.0, seed=1)
    chain = Chain(scenario, "IBFT", seed=1)
    out = []
    for label, t_s in STATES:
        chain.run_until(t_s)
        out.append((label, true_state(chain, scenario, t_s), scenario.regime_at(t_s).tx_rate_per_s))
    return out


def _within(pick: ConfigurationDecision, reference: ConfigurationDecision) -> tuple[bool, bool]:
    """Whether ``pick`` chose the reference's configuration, and whether its choice is within 1%
    of it by the reference's estimates (meeting the rate when the reference's choice does)."""
    by_config = {e.configuration: e for e in reference.estimates}
    mine, best = by_config[pick.configuration], reference.chosen
    close = mine.mean_latency_s <= 1.01 * best.mean_latency_s and (mine.meets_rate or not best.meets_rate)
    return pick.configuration == best.configuration, close


def decision_rows(
    replicas: int, eta: int, horizon_s: float, repeats: int, incumbent: bool = False
) -> list[dict[str, Any]]:
    scenario = load_scenario("paper", 2000.0, seed=1)
    base = scenario.config
    oracle = RoundOracle(base)
    space = ConfigurationSpace()
    cost = {"switch_cost_s": SWITCH_COST_S, "switch_margin": SWITCH_MARGIN} if incumbent else {}
    decider = ConfigurationDecider(replicas=replicas, eta=eta, **cost)
    in_force = configuration_of(base) if incumbent else None
    rows = []
    bar = progress(len(STATES) * (repeats + 2), "decision_speed")
    for label, state, rate in states():
        def decide(method: str, seed: int, st: OracleState = state, r: float = rate) -> ConfigurationDecision:
            return decider.decide(space, oracle_evaluator(oracle, st, horizon_s, base, seed=seed), r, method,
                                  incumbent=in_force, home=in_force)

        start = time.perf_counter()
        reference = decide("exhaustive", 0)
        exhaustive_s = time.perf_counter() - start
        decide("halving", 0)  # warm-up
        bar.update(2)
        wall, cpu, equal, close, budget = [], [], 0, 0, []
        for seed in range(1, repeats + 1):
            start, cpu_start = time.perf_counter(), time.process_time()
            pick = decide("halving", seed)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - cpu_start)
            same, near = _within(pick, reference)
            equal, close = equal + same, close + near
            budget.append(pick.budget_fraction)
            bar.update()
        rows.append({
            "case": f"{label}: halving eta={eta}, R={replicas}, {horizon_s:g} s, 128 configurations"
                    + (", stable rule" if incumbent else ""),
            "median_ms": statistics.median(wall) * 1e3, "min_ms": min(wall) * 1e3, "max_ms": max(wall) * 1e3,
            "cpu_median_ms": statistics.median(cpu) * 1e3, "budget": max(budget),
            "equal": f"{equal}/{repeats}", "within_1pct": f"{close}/{repeats}",
            "exhaustive_ms": exhaustive_s * 1e3, "target": f"<= {TARGET_MS:g} ms",
            "ok": statistics.median(wall) * 1e3 <= TARGET_MS and close == repeats,
            "exhaustive_pick": reference.configuration.label(),
        })
    bar.close()
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = BenchmarkParser(prog="python -m benchmarks.decision_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=32,
                        help="replicas per configuration of the exhaustive search (default 32)")
    parser.add_argument("--eta", type=int, default=16, help="halving factor (default 16: 2 rungs)")
    parser.add_argument("--horizon-s", type=float, default=50.0,
                        help="oracle horizon (default 50 s, the configuration twin's: two intervals)")
    parser.add_argument("--repeats", type=int, default=20, help="timed decisions per state (default 20)")
    parser.add_argument("--incumbent", action="store_true",
                        help="time the stable rule (genesis configuration in force and home, default costs)")
    parser.add_argument("--check", action="store_true", help="exit 1 unless every target is met")
    parser.add_argument("--out", default=None, help="also write results.csv/json and summary.md here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.repeats < 1:
        raise DtoptError("--repeats must be >= 1")
    out = out_dir(args.out) if args.out else None  # refused before the run if not writable
    _pin_one_core()
    rows = decision_rows(args.replicas, args.eta, args.horizon_s, args.repeats, args.incumbent)
    table = markdown_table(rows, COLUMNS)
    print(table)
    if out is not None:
        columns = [*COLUMNS, "exhaustive_pick"]
        write_table_outputs(out, "decision_speed", vars(args), rows, columns, "Decision speed", table)
    if args.check:
        return report_check([r["case"] for r in rows if not r["ok"]], "every decision within target")
    return 0
