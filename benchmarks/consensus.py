"""Dynamic consensus selection: static IBFT, static BigFoot, the twin and a clairvoyant bound.

    python -m benchmarks.consensus --scenario paper [--seeds 10] [--duration 2000] [--out DIR]

For every seed the chain simulator runs the scenario under five strategies:

* ``IBFT`` / ``BigFoot``: one protocol throughout;
* ``Dynamic``: the reactive digital twin (:class:`dtopt.twin.DigitalTwin`);
* ``Dynamic+anticipate``: the twin that learns the regimes' recurrence and
  switches ahead of a predicted change;
* ``Clairvoyant``: at every twin interval it branches the chain (a copy per
  protocol), runs the interval under each, and keeps the protocol whose
  transactions waited least, i.e. the best protocol of each interval chosen
  with hindsight, carried by ``request_switch`` exactly like the twin's.

Reported: mean and spread over seeds of transaction latency, inter-block time and
throughput per strategy (Markdown table; box plots like seed 000's Figure 4),
Dynamic's latency as a ratio to the clairvoyant bound, how often the twin's
choice equals the hindsight-best choice on the twin's own trajectory (intervals
that begin a new regime excluded), and the oracle's fidelity: for every regime
after its transition (from the first twin interval boundary, at least one
interval in, after which every block carries the votes of every validator
online in the regime) the oracle's predicted mean latency against
the latency the chain measures under each static protocol, with the oracle fed
the true regime state and, separately, the twin's estimate.

Writes results.csv (one row per seed and strategy), results.json, summary.md
and latency.png / interblock.png / throughput.png into ``--out``
(default ``out/consensus``).
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks._output import (
    environment,
    markdown_table,
    new_figure,
    out_dir,
    progress,
    run_main,
    save_figure,
    write_csv,
    write_json,
    write_summary,
)
from dtopt.consensus.chain import Chain, run_chain
from dtopt.consensus.metrics import chain_metrics
from dtopt.consensus.scenario import Scenario, load_scenario
from dtopt.errors import DtoptError
from dtopt.twin import (
    Analyser,
    ChainParams,
    DigitalTwin,
    Estimate,
    IntervalDataError,
    Monitor,
    OracleState,
    RoundOracle,
    choose_producer,
)

STRATEGIES = ("IBFT", "BigFoot", "Dynamic", "Dynamic+anticipate", "Clairvoyant")
PROTOCOLS = ("IBFT", "BigFoot")
# Hindsight waits closer than this (relative) are a tie: either choice is best.
TIE = 0.01
METRICS = {
    "mean_tx_latency_s": "latency (s)",
    "mean_interblock_s": "inter-block time (s)",
    "throughput_tps": "throughput (tx/s)",
}


# --------------------------------------------------------------------------- hindsight


def interval_wait_s(chain: Chain, start_s: float, end_s: float) -> float:
    """Transaction-seconds spent uncommitted inside ``[start_s, end_s)`` per transaction present.

    Measured from the outside view: the backlog at ``start_s`` and the arrivals of
    the window wait until they are committed or the window ends (the chain-side
    counterpart of the oracle's ``mean_wait_s``).
    """
    view = chain.view(0.0, end_s)
    commit_s = np.full(view.tx_arrival_s.size, np.inf)
    for block in view.blocks:
        commit_s[block.tx_ids] = block.committed_s
    present = (view.tx_arrival_s < end_s) & (commit_s >= start_s)
    waited = np.minimum(commit_s, end_s) - np.maximum(view.tx_arrival_s, start_s)
    return float(waited[present].sum() / max(int(present.sum()), 1))


def true_state(chain: Chain, scenario: Scenario, t_s: float) -> OracleState:
    """The regime's hidden state plus the observable pool and round at ``t_s``."""
    regime = scenario.regime_at(t_s)
    view = chain.view(0.0, t_s)
    committed = sum(len(b.tx_ids) for b in view.blocks)
    backlog = len(view.tx_ids) - committed
    last = view.blocks[-1] if view.blocks else None
    index = [scenario.nodes.index(p) for p in scenario.producers]
    return OracleState(
        online=np.array([p not in regime.offline for p in scenario.producers]),
        bandwidth_mbps=np.asarray(regime.bandwidth_mbps)[index],
        tx_rate_per_s=regime.tx_rate_per_s,
        jitter_s=regime.jitter_s,
        backlog_tx=backlog,
        backlog_age_s=float(t_s - view.tx_arrival_s[committed]) if backlog > 0 else 0.0,
        next_height=last.height + 1 if last else 0,
        round_elapsed_s=t_s - last.committed_s if last else 0.0,
        since_proposal_s=t_s - last.proposed_s if last else float("inf"),
    )


def settled_s(chain: Chain, scenario: Scenario, k: int) -> float:
    """First twin-interval boundary of regime ``k`` after its transition has settled.

    At least one interval into the regime, and not before the first block that
    carries votes of every validator online in the regime (returning validators
    must first sync the blocks they missed).
    """
    regime = scenario.regimes[k]
    online = {p for p in scenario.producers if p not in regime.offline}
    end_s = regime.start_s + scenario.state_period_s
    settle = next(
        (b.committed_s for b in chain.view(regime.start_s, end_s).blocks
         if online <= {v.validator for v in b.votes}),
        end_s,
    )
    interval_s = scenario.twin_interval_s
    return max(regime.start_s + interval_s, float(np.ceil(settle / interval_s) * interval_s))


def _switch(chain: Chain, scenario: Scenario, t_s: float, protocol: str) -> None:
    """Ask the producer the twin would ask (chosen on the true state) to carry a switch."""
    if protocol == chain.protocol:
        return
    producer = choose_producer(true_state(chain, scenario, t_s), scenario.producers, scenario.producers)
    if producer is not None:
        chain.request_switch(protocol, producer)


def hindsight_best(chain: Chain, scenario: Scenario, t_s: float) -> tuple[str, dict[str, float]]:
    """Run the next interval on a copy of the chain under each protocol; the least waiting wins.

    Ties (a switch that takes no effect within the interval) go to the protocol in force.
    """
    end_s = t_s + scenario.twin_interval_s
    waits = {}
    for protocol in PROTOCOLS:
        branch = pickle.loads(pickle.dumps(chain, protocol=pickle.HIGHEST_PROTOCOL))
        _switch(branch, scenario, t_s, protocol)
        branch.run_until(end_s)
        waits[protocol] = interval_wait_s(branch, t_s, end_s)
    return min(waits, key=lambda p: (waits[p], p != chain.protocol)), waits


@dataclass
class Clairvoyant:
    """Controller that applies the hindsight-best protocol of every interval."""

    scenario: Scenario
    choices: list[tuple[float, str]] = field(default_factory=list)

    def __call__(self, chain: Chain, t_s: float) -> None:
        best, _ = hindsight_best(chain, self.scenario, t_s)
        self.choices.append((t_s, best))
        _switch(chain, self.scenario, t_s, best)


@dataclass
class Probe:
    """Wraps a twin: records the hindsight-best protocol before each twin decision."""

    twin: DigitalTwin
    scenario: Scenario
    best: list[tuple[float, str, dict[str, float]]] = field(default_factory=list)

    def hits(self, period_s: float) -> tuple[int, int]:
        """Decisions equal to a hindsight-best protocol (either one on a tie within
        ``TIE`` relative), over the decisions at times that do not begin a regime."""
        hits = counted = 0
        for record, (t_s, best, waits) in zip(self.twin.records, self.best, strict=True):
            if np.isclose(t_s % period_s, 0.0) or record.error is not None:
                continue
            counted += 1
            tie = abs(waits["IBFT"] - waits["BigFoot"]) <= TIE * min(waits.values())
            hits += tie or record.chosen == best
        return hits, counted

    def __call__(self, chain: Chain, t_s: float) -> None:
        best, waits = hindsight_best(chain, self.scenario, t_s)
        self.best.append((t_s, best, waits))
        self.twin(chain, t_s)


@dataclass
class EstimateRecorder:
    """Passive twin front end on a static run: the estimate at every interval end."""

    params: ChainParams
    estimates: dict[float, Estimate] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.monitor = Monitor(self.params.validators)
        self.analyser = Analyser(self.params)

    def __call__(self, chain: Chain, t_s: float) -> None:
        try:
            self.estimates[t_s] = self.analyser.analyse(self.monitor.observe(chain, t_s))
        except IntervalDataError:
            pass


# --------------------------------------------------------------------------- one seed


def run_seed(name: str, duration_s: float, seed: int, replicas: int) -> dict[str, Any]:
    """Every strategy, the twin's choice accuracy and the oracle's fidelity for one seed."""
    scenario = load_scenario(name, duration_s, seed)
    params = ChainParams.from_scenario(scenario)
    interval_s, period_s = scenario.twin_interval_s, scenario.state_period_s
    rows, statics, recorders = [], {}, {}
    for protocol in PROTOCOLS:
        recorders[protocol] = EstimateRecorder(params)
        statics[protocol] = run_chain(scenario, protocol, duration_s, seed, controller=recorders[protocol])
    twin = DigitalTwin.from_scenario(scenario, replicas=replicas, seed=seed)
    probe = Probe(twin, scenario)
    anticipating = DigitalTwin.from_scenario(scenario, replicas=replicas, seed=seed, anticipate=True)
    clairvoyant = Clairvoyant(scenario)
    runs = {
        **statics,
        "Dynamic": run_chain(scenario, "IBFT", duration_s, seed, controller=probe),
        "Dynamic+anticipate": run_chain(scenario, "IBFT", duration_s, seed, controller=anticipating),
        "Clairvoyant": run_chain(scenario, "IBFT", duration_s, seed, controller=clairvoyant),
    }
    for strategy, run in runs.items():
        m = run.metrics
        rows.append({
            "seed": seed, "strategy": strategy, "mean_tx_latency_s": m.mean_tx_latency_s,
            "mean_block_latency_s": m.mean_block_latency_s, "mean_interblock_s": m.mean_interblock_s,
            "throughput_tps": m.throughput_tps, "n_blocks": m.n_blocks,
            "blocks_ibft": m.blocks_per_protocol.get("IBFT", 0),
            "blocks_bigfoot": m.blocks_per_protocol.get("BigFoot", 0),
        })

    hits, counted = probe.hits(period_s)
    oracle = RoundOracle(params, replicas=replicas, seed=seed)
    fidelity = []
    for k, regime in enumerate(scenario.regimes):
        end_s = min(regime.start_s + period_s, duration_s)
        for protocol, run in statics.items():
            start_s = settled_s(run.chain, scenario, k)
            if end_s - start_s < interval_s:
                continue
            measured = chain_metrics(run.chain.view(start_s, end_s)).mean_tx_latency_s
            estimate = recorders[protocol].estimates.get(start_s)
            truth = true_state(run.chain, scenario, start_s)
            predicted_true = oracle.predict(truth, protocol, end_s - start_s)
            predicted_est = (
                oracle.predict(estimate.state, protocol, end_s - start_s).mean_tx_latency_s
                if estimate is not None else float("nan")
            )
            fidelity.append({
                "seed": seed, "regime": k, "offline": len(regime.offline), "protocol": protocol,
                "measured_s": measured, "predicted_true_s": predicted_true.mean_tx_latency_s,
                "error_true": predicted_true.mean_tx_latency_s / measured - 1.0,
                "predicted_estimate_s": predicted_est, "error_estimate": predicted_est / measured - 1.0,
            })
    return {
        "rows": rows, "fidelity": fidelity, "choice_hits": hits, "choice_counted": counted,
        "decisions": [r.as_dict() for r in twin.records],
    }


# --------------------------------------------------------------------------- report


def _summary_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for strategy in STRATEGIES:
        mine = [r for r in rows if r["strategy"] == strategy]
        row: dict[str, Any] = {"strategy": strategy, "seeds": len(mine)}
        for key in METRICS:
            values = [r[key] for r in mine]
            row[f"{key}_mean"] = statistics.fmean(values)
            row[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        out.append(row)
    return out


def _boxplots(rows: list[dict[str, Any]], out: Any) -> list[str]:
    names = []
    for key, label in METRICS.items():
        fig, ax = new_figure(width_in=6.5)
        data = [[r[key] for r in rows if r["strategy"] == s] for s in STRATEGIES]
        ax.boxplot(data, tick_labels=list(STRATEGIES))
        ax.set_ylabel(label)
        ax.set_title(f"{label} per strategy ({len(data[0])} seeds)")
        ax.tick_params(axis="x", labelrotation=15)
        name = {"mean_tx_latency_s": "latency", "mean_interblock_s": "interblock"}.get(key, "throughput")
        save_figure(fig, out / f"{name}.png")
        names.append(f"{name}.png")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.consensus", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--scenario", default="paper", help="scenario preset or file (default: paper)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 1..N (default: 10)")
    parser.add_argument(
        "--duration", type=float, default=2000.0, help="simulated seconds per run (default: 2000)"
    )
    parser.add_argument("--replicas", type=int, default=256, help="oracle replicas (default: 256)")
    parser.add_argument("--out", default="out/consensus", help="output directory (default: out/consensus)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.seeds < 1:
        raise DtoptError(f"--seeds must be >= 1, got {args.seeds}")
    results = []
    bar = progress(args.seeds, "seeds")
    for seed in range(1, args.seeds + 1):
        results.append(run_seed(args.scenario, args.duration, seed, args.replicas))
        bar.update(1)
    bar.close()
    rows = [r for res in results for r in res["rows"]]
    fidelity = [f for res in results for f in res["fidelity"]]
    summary = _summary_rows(rows)
    def latency(strategy: str) -> list[float]:
        return [r["mean_tx_latency_s"] for r in rows if r["strategy"] == strategy]

    ratios = [d / c for d, c in zip(latency("Dynamic"), latency("Clairvoyant"), strict=True)]
    ratios_ant = [d / c for d, c in zip(latency("Dynamic+anticipate"), latency("Clairvoyant"), strict=True)]
    hits = sum(res["choice_hits"] for res in results)
    counted = sum(res["choice_counted"] for res in results)
    wins = {
        key: sum(
            all(
                (d[key] < o[key]) if key != "throughput_tps" else (d[key] > o[key])
                for o in rows
                if o["seed"] == d["seed"] and o["strategy"] in PROTOCOLS
            )
            for d in rows
            if d["strategy"] == "Dynamic"
        )
        for key in METRICS
    }
    columns = {"strategy": "strategy", "seeds": "seeds"}
    for key, label in METRICS.items():
        columns[f"{key}_mean"] = f"{label} mean"
        columns[f"{key}_std"] = "std"
    table = markdown_table(summary, columns)

    def fidelity_line(key: str, sel: list[dict[str, Any]]) -> str:
        errors = np.abs([f[key] for f in sel if np.isfinite(f[key])])
        if not errors.size:
            return "n/a"
        return (f"median |error| {np.median(errors):.1%}, max {errors.max():.1%}, "
                f"within 10%: {np.mean(errors <= 0.10):.0%} of {errors.size}")

    first_steady = [f for f in fidelity if f["regime"] == 0]
    after_faulty = [f for f in fidelity if f["offline"] == 0 and f["regime"] > 0]
    faulty = [f for f in fidelity if f["offline"] > 0]
    lines = [
        f"Dynamic / Clairvoyant mean latency: median {np.median(ratios):.3f} "
        f"(range {min(ratios):.3f}-{max(ratios):.3f}); anticipating: median {np.median(ratios_ant):.3f} "
        f"(range {min(ratios_ant):.3f}-{max(ratios_ant):.3f})",
        f"Dynamic beats both static protocols (per seed): latency {wins['mean_tx_latency_s']}/{args.seeds}, "
        f"inter-block {wins['mean_interblock_s']}/{args.seeds}, "
        f"throughput {wins['throughput_tps']}/{args.seeds}",
        f"Twin choice = hindsight-best choice: {hits}/{counted} = {hits / max(counted, 1):.1%} "
        f"of the intervals that do not begin a new regime (tie: waits within {TIE:.0%})",
        "Oracle fidelity, mean latency over each regime once settled, per static protocol:",
        f"  true state, all-online regime 0: {fidelity_line('error_true', first_steady)}",
        f"  true state, all-online regimes after a faulty one: {fidelity_line('error_true', after_faulty)}",
        f"  true state, faulty regimes: {fidelity_line('error_true', faulty)}",
        f"  twin estimate, all-online regime 0: {fidelity_line('error_estimate', first_steady)}",
        f"  twin estimate, all-online after faulty: {fidelity_line('error_estimate', after_faulty)}",
        f"  twin estimate, faulty regimes: {fidelity_line('error_estimate', faulty)}",
    ]
    print(table)
    print()
    print("\n".join(lines))
    out = out_dir(args.out)
    columns_csv = list(rows[0])
    write_csv(out / "results.csv", rows, columns_csv)
    write_csv(out / "fidelity.csv", fidelity, list(fidelity[0]) if fidelity else ["seed"])
    figures = _boxplots(rows, out)
    write_json(out / "results.json", {
        "benchmark": "consensus", "environment": environment(), "parameters": vars(args),
        "rows": rows, "summary": summary, "fidelity": fidelity,
        "dynamic_over_clairvoyant": ratios, "anticipate_over_clairvoyant": ratios_ant,
        "choice_hits": hits, "choice_counted": counted,
        "decisions_seed1": results[0]["decisions"],
    })
    write_summary(out / "summary.md", f"Dynamic consensus selection, scenario {args.scenario}", [
        (f"{args.seeds} seeds x {args.duration:g} s", table),
        ("Findings", "\n".join(f"- {line}" for line in lines)),
        ("Figures", "\n".join(f"![{f}]({f})" for f in figures)),
    ])
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main, prog="benchmarks.consensus"))
