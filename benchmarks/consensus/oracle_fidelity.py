"""The round oracle's fidelity against the chain at several chain sizes.

    python -m benchmarks.oracle_fidelity [--validators 10 31 64] [--protocols IBFT BigFoot] [--duration 400]
        [--seed 1] [--out DIR]

For each size ``n``, a scenario of ``n`` identical validators
(:func:`dtopt.consensus.scenario.uniform_scenario`: 1 MB/s each, 10 ms propagation,
50 tx/s) whose regimes alternate every 100 s between everyone online on a steady
network (jitter 10 ms) and a faulty one: every fifth validator offline (``n // 5``
of them, spread over the proposer rotation, as the paper's 2 of 10) on a jittery
network (jitter 50 ms). The chain runs it under each static protocol (``--protocols``,
default IBFT and BigFoot; DPoS too); for every
regime, once steady (``benchmarks.consensus.fidelity_rows``, window ``steady``),
the oracle fed the true state predicts the window's mean transaction latency
and throughput, compared with what the chain measured. ``--check`` fails unless
every error is within 10%.
"""

from __future__ import annotations

import argparse
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
from benchmarks.consensus import PROTOCOLS, EstimateRecorder, fidelity_rows, true_state
from dtopt.consensus.chain import run_chain
from dtopt.consensus.limits import check_duration, check_seed
from dtopt.consensus.metrics import chain_metrics
from dtopt.consensus.protocols import get_protocol
from dtopt.consensus.scenario import Regime, Scenario, uniform_scenario
from dtopt.errors import DtoptError
from dtopt.twin import RoundOracle

COLUMNS = {
    "validators": "validators", "regime": "regime", "kind": "kind", "protocol": "protocol",
    "window": "window (s)", "measured_s": "latency (s)", "predicted_s": "oracle (s)",
    "error_latency": "error", "measured_tps": "throughput (tx/s)", "predicted_tps": "oracle (tx/s)",
    "error_throughput": "error ", "within": "within 10%",
}
TOLERANCE = 0.10
RATE_TPS = 50.0


def scenario(n: int, duration_s: float) -> Scenario:
    """``n`` validators, regimes of 100 s alternating steady / faulty (see the module docstring)."""
    names = tuple(f"bp{i}" for i in range(n))
    faulty = names[4::5][: n // 5]
    regimes = tuple(
        Regime(start_s=100.0 * k, offline=faulty if k % 2 else (), bandwidth_mbps=(1.0,) * n,
               tx_rate_per_s=RATE_TPS, jitter_s=0.05 if k % 2 else 0.01)
        for k in range(max(1, int(-(-duration_s // 100.0))))
    )
    return uniform_scenario(n, regimes=regimes, faulty=faulty)


def size_rows(n: int, duration_s: float, seed: int, replicas: int,
              protocols: Sequence[str] = PROTOCOLS) -> list[dict[str, Any]]:
    """Oracle against chain per steady regime window and protocol, for ``n`` validators."""
    sc = scenario(n, duration_s)
    statics, recorders = {}, {}
    for protocol in protocols:
        recorders[protocol] = EstimateRecorder(sc.config)
        statics[protocol] = run_chain(sc, protocol, duration_s, seed, controller=recorders[protocol])
    oracle = RoundOracle(sc.config, replicas=replicas, seed=seed)
    rows = []
    for row in fidelity_rows(sc, statics, recorders, seed, replicas):
        if row["window"] != "steady":
            continue
        chain = statics[row["protocol"]].chain
        start_s, end_s = row["start_s"], row["end_s"]
        measured_tps = chain_metrics(chain.view(start_s, end_s)).throughput_tps
        truth = true_state(chain, sc, start_s)
        predicted_tps = oracle.predict(truth, row["protocol"], end_s - start_s).throughput_tps
        error_tps = predicted_tps / measured_tps - 1.0
        rows.append({
            "validators": n, "regime": row["regime"], "kind": "faulty" if row["offline"] else "steady",
            "protocol": row["protocol"], "window": f"{start_s:g}-{end_s:g}",
            "measured_s": row["measured_s"], "predicted_s": row["predicted_true_s"],
            "error_latency": row["error_true"], "measured_tps": measured_tps, "predicted_tps": predicted_tps,
            "error_throughput": error_tps,
            "within": abs(row["error_true"]) <= TOLERANCE and abs(error_tps) <= TOLERANCE,
        })
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = BenchmarkParser(prog="python -m benchmarks.oracle_fidelity", description=__doc__.splitlines()[0])
    parser.add_argument("--validators", type=int, nargs="+", default=[10, 31, 64],
                        help="chain sizes (default 10 31 64)")
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS),
                        help="static protocols to compare (default IBFT BigFoot; DPoS too)")
    parser.add_argument("--duration", type=float, default=400.0, help="chain time per run (default 400 s)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the chain and the oracle (default 1)")
    parser.add_argument("--replicas", type=int, default=256, help="oracle replicas (default 256)")
    parser.add_argument("--check", action="store_true", help="exit 1 unless every error is within 10%%")
    parser.add_argument("--out", default=None, help="also write results.csv/json and summary.md here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if any(n < 4 for n in args.validators):
        raise DtoptError("--validators: every size must be >= 4")
    duration_s = check_duration(args.duration, "--duration")
    seed = check_seed(args.seed, "--seed")
    protocols = list(dict.fromkeys(get_protocol(p).name for p in args.protocols))
    out = out_dir(args.out) if args.out else None  # refused before the run if not writable
    bar = progress(len(args.validators), "oracle_fidelity")
    rows = []
    for n in args.validators:
        rows += size_rows(n, duration_s, seed, args.replicas, protocols)
        bar.update()
    bar.close()
    table = markdown_table(rows, COLUMNS)
    print(table)
    if out is not None:
        write_table_outputs(out, "oracle_fidelity", vars(args), rows, list(COLUMNS), "Oracle fidelity", table)
    if args.check:
        problems = [f"{r['validators']} validators, regime {r['regime']}, {r['protocol']}: latency "
                    f"{r['error_latency']:+.1%}, throughput {r['error_throughput']:+.1%}"
                    for r in rows if not r["within"]]
        return report_check(problems, f"every error within {TOLERANCE:.0%}")
    return 0
