"""Speed of the twin's round oracle and of one complete twin decision.

    python -m benchmarks.oracle_speed [--replicas 4096] [--repeats 7] [--out DIR]

Two measurements, medians over ``--repeats`` runs, on one core:

* rounds per second: simulated rounds x replicas per wall-clock second for the
  paper preset's 10 validators, in a steady state (everyone online) and a faulty
  one (2 offline), under each protocol, with ``--replicas`` replicas over 100 s,
  with the selection network and, side by side in the same run, with the
  ``np.partition`` reference (identical predictions); ``ratio`` = partition time
  / network time;
* one twin decision: analyse + plan (oracle, both protocols, R = 256, one 25 s
  interval) + decide on a real interval of the paper preset, with the default
  scenario set (as-estimated), with a seasonal forecast that weighs two states,
  and with every what-if scenario switched on.

``--against REV`` instead times the oracle cases (network order statistics) of
the working tree and of git revision ``REV`` side by side: every repeat runs
both alternately, each in a fresh interpreter that times ``--inner`` predictions
(median), and the table gives both medians and their ratios, wall and CPU time
(working tree / REV; above 1 = slower; under load the CPU ratio is the steadier).
Pin the process to one core (``taskset -c 1``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from benchmarks.common.output import (
    BenchmarkParser,
    environment,
    markdown_table,
    out_dir,
    progress,
    report_written,
    write_csv,
    write_json,
    write_summary,
)
from benchmarks.speed.revision import CURRENT, export_revision, run_snippet
from dtopt.consensus import load_scenario
from dtopt.consensus.chain import Chain
from dtopt.errors import DtoptError
from dtopt.twin import DigitalTwin, OracleState, RoundOracle

COLUMNS = {
    "case": "case", "median_ms": "median ms", "rounds_per_s": "rounds x replicas / s",
    "ratio": "partition / network", "target": "target",
}


def _median_s(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pin_one_core() -> None:
    """Run on one core where the OS allows it (numpy here is single-threaded anyway)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def rounds_rows(replicas: int, repeats: int) -> list[dict[str, object]]:
    scenario = load_scenario("paper", 200.0, seed=1)
    params = scenario.config
    oracles = {
        m: RoundOracle(params, replicas=replicas, order_statistics=m) for m in ("network", "partition")
    }
    rows = []
    for regime in scenario.regimes[:2]:
        state = OracleState(
            online=np.array([name not in regime.offline for name in params.validators]),
            bandwidth_mbps=np.array(regime.bandwidth_mbps),
            tx_rate_per_s=regime.tx_rate_per_s,
            jitter_s=regime.jitter_s,
        )
        label = "faulty" if regime.offline else "steady"
        for protocol in ("IBFT", "BigFoot"):
            rounds = oracles["network"].predict(state, protocol, 100.0).mean_rounds * replicas
            seconds = {
                m: _median_s(lambda o=o, s=state, p=protocol: o.predict(s, p, 100.0), repeats)
                for m, o in oracles.items()
            }
            for m in oracles:
                rows.append({
                    "case": f"oracle {label} {protocol} ({m}), R={replicas}, 100 s",
                    "median_ms": seconds[m] * 1e3,
                    "rounds_per_s": rounds / seconds[m],
                    "ratio": seconds["partition"] / seconds["network"] if m == "network" else None,
                    "target": ">= 1e6 rounds/s" if m == "network" else "reference",
                })
    return rows


def _prime_forecast(twin: DigitalTwin, start_s: float, interval_s: float) -> None:
    """Give the twin two cycles of history (period 8 intervals) whose same phase as
    the interval after ``start_s`` held both states: a 50/50 forecast, the costliest plan."""
    faulty = ("bp8", "bp9")
    history = [faulty if i % 8 < 4 else () for i in range(16)]
    history[9] = ()
    for i, offline in enumerate(history):
        twin.forecaster.observe(start_s - (16 - i) * interval_s, offline)


def decision_rows(repeats: int) -> list[dict[str, object]]:
    scenario = load_scenario("paper", 200.0, seed=1)
    chain = Chain(scenario, "IBFT", seed=1)
    rows = []
    for label, regime_start_s, options in (
        ("steady", 0.0, {}),
        ("faulty", 100.0, {}),
        ("faulty, forecast of 2 states", 100.0, {}),
        ("faulty, all what-ifs", 100.0, {"dropout": True, "recovered": True}),
    ):
        twin = DigitalTwin.from_scenario(scenario, replicas=256, **options)
        end_s = regime_start_s + 2 * scenario.twin_interval_s
        if "forecast" in label:
            _prime_forecast(twin, end_s - scenario.twin_interval_s, scenario.twin_interval_s)
        chain.run_until(end_s)
        twin.monitor.last_end_s = end_s - scenario.twin_interval_s
        data = twin.monitor.observe(chain, end_s)
        seconds = _median_s(lambda t=twin, d=data: t.think(d, "IBFT"), repeats)
        rows.append({
            "case": f"twin decision ({label}), both protocols, R=256, 25 s",
            "median_ms": seconds * 1e3,
            "rounds_per_s": None,
            "ratio": None,
            "target": "< 20 ms",
        })
    return rows


# Works against the API before and after ChainConfig replaced ChainParams.
_SNIPPET = """
import json, statistics, time
import numpy as np
from dtopt.consensus import load_scenario
from dtopt.twin import OracleState, RoundOracle
scenario = load_scenario("paper", 200.0, seed=1)
try:
    from dtopt.twin import ChainParams
    config = ChainParams.from_scenario(scenario)
except ImportError:
    config = scenario.config
oracle = RoundOracle(config, replicas={replicas})
regime = scenario.regimes[{regime}]
state = OracleState(online=np.array([name not in regime.offline for name in scenario.producers]),
                    bandwidth_mbps=np.array(regime.bandwidth_mbps), tx_rate_per_s=regime.tx_rate_per_s,
                    jitter_s=regime.jitter_s)
oracle.predict(state, {protocol!r}, 100.0)
times, cpu = [], []
for _ in range({inner}):
    start, cpu_start = time.perf_counter(), time.process_time()
    prediction = oracle.predict(state, {protocol!r}, 100.0)
    times.append(time.perf_counter() - start)
    cpu.append(time.process_time() - cpu_start)
print(json.dumps([statistics.median(times), prediction.mean_tx_latency_s, statistics.median(cpu)]))
"""


def against_rows(rev: str, replicas: int, repeats: int, inner: int) -> list[dict[str, object]]:
    """The oracle cases timed in the working tree and at ``rev``, alternating."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = export_revision(rev, Path(tmp))
        for regime, label in ((0, "steady"), (1, "faulty")):
            for protocol in ("IBFT", "BigFoot"):
                code = _SNIPPET.format(replicas=replicas, regime=regime, protocol=protocol, inner=inner)
                new, old = [], []
                for _ in range(repeats):
                    new.append(run_snippet(CURRENT, code))
                    old.append(run_snippet(old_tree, code))
                new_s = statistics.median(r[0] for r in new)
                old_s = statistics.median(r[0] for r in old)
                cpu_ratio = statistics.median(r[2] for r in new) / statistics.median(r[2] for r in old)
                rows.append({
                    "case": f"oracle {label} {protocol}, R={replicas}, 100 s",
                    "median_ms": new_s * 1e3, "rev_median_ms": old_s * 1e3, "ratio": new_s / old_s,
                    "cpu_ratio": cpu_ratio,
                    "same_prediction": new[0][1] == old[0][1],
                })
    return rows


AGAINST_COLUMNS = {
    "case": "case", "median_ms": "median ms (tree)", "rev_median_ms": "median ms (REV)",
    "ratio": "wall tree / REV", "cpu_ratio": "CPU tree / REV", "same_prediction": "same prediction",
}


def build_parser() -> argparse.ArgumentParser:
    parser = BenchmarkParser(prog="python -m benchmarks.oracle_speed", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--replicas", type=int, default=4096, help="replicas for the rounds/s runs (default 4096)"
    )
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per case; medians (default 7)")
    parser.add_argument("--out", default=None, help="also write results.csv/json and summary.md here")
    parser.add_argument("--against", default=None, metavar="REV",
                        help="time the oracle of the working tree and of git revision REV side by side")
    parser.add_argument("--inner", type=int, default=5,
                        help="with --against: timed predictions per interpreter; medians (default 5)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.replicas < 1 or args.repeats < 1:
        raise DtoptError("--replicas and --repeats must be >= 1")
    out = out_dir(args.out) if args.out else None  # refused before the run if not writable
    _pin_one_core()
    if args.against:
        rows = against_rows(args.against, args.replicas, args.repeats, args.inner)
        print(markdown_table(rows, AGAINST_COLUMNS))
        return 0
    bar = progress(2, "oracle_speed")
    rows = rounds_rows(args.replicas, args.repeats)
    bar.update()
    rows += decision_rows(args.repeats)
    bar.update()
    bar.close()
    table = markdown_table(rows, COLUMNS)
    print(table)
    if out is not None:
        write_csv(out / "results.csv", rows, list(COLUMNS))
        write_json(out / "results.json", {
            "benchmark": "oracle_speed", "environment": environment(),
            "parameters": vars(args), "rows": rows,
        })
        write_summary(out / "summary.md", "Oracle speed", [("Medians", table)])
        report_written(out, ["results.csv", "results.json", "summary.md"])
    return 0
