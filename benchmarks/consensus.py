"""Dynamic consensus selection: static IBFT, static BigFoot, the twin and a clairvoyant bound.

    python -m benchmarks.consensus --scenario paper [--seeds 10] [--duration 2000] [--workers 2] [--out DIR]
        [--space default|SPEC]

For every seed the chain simulator runs the scenario under these strategies:

* ``IBFT`` / ``BigFoot``: one protocol throughout;
* ``Dynamic``: the digital twin as configured by default
  (:class:`dtopt.twin.DigitalTwin`: seasonal forecast of the next state);
* ``Dynamic reactive``: the plain reactive twin (``anticipate="off"``);
* ``Dynamic h=0.05`` / ``Dynamic reactive h=0.05``: with 5 % hysteresis;
* ``Clairvoyant``: at every twin interval it branches the chain (a copy per
  protocol), runs the interval under each, and keeps the protocol whose
  transactions waited least, i.e. the best protocol of each interval chosen
  with hindsight (greedy, one interval at a time, so a strategy that looks
  further ahead can beat it), carried by ``request_switch`` exactly like the twin's;
* with ``--space``: the configuration strategies of :mod:`benchmarks._consensus_config`
  (``Config twin``: the twin choosing protocol, block size, block interval and
  round timeout over the space; ``default`` is the 128-configuration default
  space), compared with every strategy above by paired per-seed differences, with
  figures of the configuration in force against the regimes (config_timeline.png)
  and of each regime's predicted latency/throughput Pareto fronts (config_pareto.png).

Reported: mean and spread over seeds of transaction latency, inter-block time and
throughput per strategy (Markdown table; box plots like Figure 4 of Diamantopoulos et al., 2023),
Dynamic's latency as a ratio to the clairvoyant bound, how often the twin's
choice equals the hindsight-best choice on the twin's own trajectory (intervals
that begin a new regime excluded), and the oracle's fidelity: for every regime,
once steady, the oracle's predicted mean latency against the latency the chain
measures under each static protocol, with the oracle fed the true regime state
and, separately, the twin's estimate. The earlier window (``votes``) starts at
the first twin interval boundary, at least one interval in, after the first
block carrying the votes of every validator online in the regime. The
``steady`` window also waits for a boundary at which every such validator has
committed every block final for a moment (``SYNC_GRACE_S``; hidden chain state,
read for the measurement only): a returning validator can vote before it has
committed the head, and if it is the next proposer the chain loses a round
timeout that the regime's state does not contain. Both are reported.

Seeds run as dask tasks on the back end of the placement sweeps
(:mod:`benchmarks._sweep`: a local cluster of one process per core by default,
``--workers N``, ``--scheduler ADDRESS`` or ``--serial``). Writes results.csv
(one row per seed and strategy), fidelity.csv, results.json, summary.md and
latency.png / interblock.png / throughput.png into ``--out`` (default
``out/consensus``; checked to be writable before the run).
"""

from __future__ import annotations

import argparse
import functools
import pickle
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks import _sweep
from benchmarks._consensus_config import (
    CONFIG_STRATEGIES,
    arrival_rate_tps,
    best_static_line,
    config_outcome_lines,
    metric_row,
    parse_space,
    parse_strategies,
    run_config,
)
from benchmarks._consensus_figures import config_figures
from benchmarks._hindsight import interval_wait_s, request_change, true_state
from benchmarks._output import (
    BenchmarkParser,
    environment,
    markdown_table,
    new_figure,
    out_dir,
    report_written,
    run_main,
    save_figure,
    write_csv,
    write_json,
    write_summary,
)
from dtopt.cli import exit_with
from dtopt.consensus.chain import Chain, run_chain
from dtopt.consensus.config import ChainConfig
from dtopt.consensus.limits import check_duration, check_run_size
from dtopt.consensus.metrics import chain_metrics
from dtopt.consensus.scenario import Scenario, load_scenario
from dtopt.errors import DtoptError
from dtopt.twin import (
    Analyser,
    DigitalTwin,
    Estimate,
    IntervalDataError,
    Monitor,
    RoundOracle,
)

PROTOCOLS = ("IBFT", "BigFoot")
# Twin variants run on every seed (options of DigitalTwin); "Dynamic" is the default twin.
TWINS: dict[str, dict[str, Any]] = {
    "Dynamic": {},
    "Dynamic reactive": {"anticipate": "off"},
    "Dynamic h=0.05": {"hysteresis": 0.05},
    "Dynamic reactive h=0.05": {"anticipate": "off", "hysteresis": 0.05},
}
STRATEGIES = (*PROTOCOLS, *TWINS, "Clairvoyant")  # without --space
# A validator has caught up once it committed every block final this long ago (s).
SYNC_GRACE_S = 2.0
# Hindsight waits closer than this (relative) are a tie: either choice is best.
TIE = 0.01
METRICS = {
    "mean_tx_latency_s": "latency (s)",
    "mean_interblock_s": "inter-block time (s)",
    "throughput_tps": "throughput (tx/s)",
}


# --------------------------------------------------------------------------- hindsight


def votes_settled_s(chain: Chain, scenario: Scenario, k: int) -> float:
    """First twin-interval boundary of regime ``k``, at least one interval in, after
    the first block that carries votes of every validator online in the regime."""
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


def synced_settled_s(synced: dict[float, frozenset[str]], scenario: Scenario, k: int) -> float:
    """First twin-interval boundary of regime ``k``, at least one interval in, at which
    every validator online in the regime had caught up (``synced``: boundary -> the
    validators caught up then); the regime's end if none."""
    regime = scenario.regimes[k]
    online = {p for p in scenario.producers if p not in regime.offline}
    end_s = regime.start_s + scenario.state_period_s
    boundaries = sorted(t for t in synced if regime.start_s + scenario.twin_interval_s <= t < end_s)
    return next((t for t in boundaries if online <= synced[t]), end_s)


def _switch(chain: Chain, scenario: Scenario, t_s: float, protocol: str) -> None:
    """Ask the producer the twin would ask (chosen on the true state) to carry a switch."""
    request_change(chain, scenario, t_s, {"protocol": protocol})


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
    """Passive twin front end on a static run: the estimate at every interval end,
    and (hidden state, for the measurement only) which validators had caught up."""

    params: ChainConfig
    estimates: dict[float, Estimate] = field(default_factory=dict)
    synced: dict[float, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.monitor = Monitor(self.params.validators)
        self.analyser = Analyser(self.params)

    def __call__(self, chain: Chain, t_s: float) -> None:
        final = sum(b.committed_s <= t_s - SYNC_GRACE_S for b in chain.view(0.0, t_s).blocks)
        self.synced[t_s] = frozenset(
            v for v in self.params.validators if len(chain.committed_chain(v)) >= final
        )
        try:
            self.estimates[t_s] = self.analyser.analyse(self.monitor.observe(chain, t_s))
        except IntervalDataError:
            pass


# --------------------------------------------------------------------------- one seed


def check_run(name: str, duration_s: float, replicas: int, space: str | None = None) -> None:
    """Refuse what would fail in every seed, before any runs: the scenario, the run's
    size (:mod:`dtopt.consensus.limits`), the oracle's replicas and the space."""
    scenario = load_scenario(name, check_duration(duration_s), seed=1)
    check_run_size(scenario, duration_s, twin=True)
    RoundOracle(scenario.config, replicas=replicas)
    if space is not None:
        DigitalTwin.from_scenario(scenario, replicas=replicas, space=parse_space(space))


def run_seed(
    seed: int, name: str, duration_s: float, replicas: int, space: str | None = None,
    config_strategies: tuple[str, ...] = CONFIG_STRATEGIES, clairvoyant_shortlist: int | None = None,
) -> dict[str, Any]:
    """Every strategy, the twin's choice accuracy and the oracle's fidelity for one seed
    (and the configuration strategies over ``space``, if given)."""
    scenario = load_scenario(name, duration_s, seed)
    params = scenario.config
    period_s = scenario.state_period_s
    statics, recorders = {}, {}
    for protocol in PROTOCOLS:
        recorders[protocol] = EstimateRecorder(params)
        statics[protocol] = run_chain(scenario, protocol, duration_s, seed, controller=recorders[protocol])
    twins = {
        label: DigitalTwin.from_scenario(scenario, replicas=replicas, seed=seed, **options)
        for label, options in TWINS.items()
    }
    probe = Probe(twins["Dynamic"], scenario)
    clairvoyant = Clairvoyant(scenario)
    runs = {
        **statics,
        **{
            label: run_chain(
                scenario, "IBFT", duration_s, seed, controller=probe if label == "Dynamic" else twin
            )
            for label, twin in twins.items()
        },
        "Clairvoyant": run_chain(scenario, "IBFT", duration_s, seed, controller=clairvoyant),
    }
    rows = [metric_row(seed, strategy, run) for strategy, run in runs.items()]
    config = (run_config(seed, scenario, duration_s, replicas, parse_space(space), config_strategies,
                         clairvoyant_shortlist) if space else None)
    hits, counted = probe.hits(period_s)
    return {
        "rows": rows + (config["rows"] if config else []),
        "fidelity": fidelity_rows(scenario, statics, recorders, seed, replicas),
        "choice_hits": hits, "choice_counted": counted,
        "decisions": [r.to_dict() for r in twins["Dynamic"].records],
        "config": config,
    }


def fidelity_rows(
    scenario: Scenario,
    statics: dict[str, Any],
    recorders: dict[str, EstimateRecorder],
    seed: int,
    replicas: int,
) -> list[dict[str, Any]]:
    """Oracle vs chain, mean latency over each regime once steady, per static protocol and window."""
    params = scenario.config
    oracle = RoundOracle(params, replicas=replicas, seed=seed)
    out = []
    for k, regime in enumerate(scenario.regimes):
        for protocol, run in statics.items():
            end_s = min(regime.start_s + scenario.state_period_s, run.chain.now_s)
            votes_s = votes_settled_s(run.chain, scenario, k)
            synced_s = synced_settled_s(recorders[protocol].synced, scenario, k)
            starts = {"steady": max(votes_s, synced_s), "votes": votes_s}
            for window, start_s in starts.items():
                if end_s - start_s < scenario.twin_interval_s:
                    continue
                measured = chain_metrics(run.chain.view(start_s, end_s)).mean_tx_latency_s
                if measured is None:  # nothing committed in the window: no error to measure
                    continue
                estimate = recorders[protocol].estimates.get(start_s)
                truth = true_state(run.chain, scenario, start_s)
                predicted_true = oracle.predict(truth, protocol, end_s - start_s).mean_tx_latency_s
                predicted_est = (
                    oracle.predict(estimate.state, protocol, end_s - start_s).mean_tx_latency_s
                    if estimate is not None else None
                )
                out.append({
                    "seed": seed, "regime": k, "offline": len(regime.offline), "protocol": protocol,
                    "window": window, "start_s": start_s, "end_s": end_s, "measured_s": measured,
                    "predicted_true_s": predicted_true, "error_true": predicted_true / measured - 1.0,
                    "predicted_estimate_s": predicted_est,
                    "error_estimate": None if predicted_est is None else predicted_est / measured - 1.0,
                })
    return out


# --------------------------------------------------------------------------- report


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the seeds on which every strategy has every metric (committed
    transactions): strategies are compared on the same seeds only."""
    empty = {r["seed"] for r in rows if any(r[key] is None for key in METRICS)}
    return [r for r in rows if r["seed"] not in empty]


def strategies_of(rows: list[dict[str, Any]]) -> list[str]:
    """The strategies of ``rows``, in the order they first appear."""
    return list(dict.fromkeys(r["strategy"] for r in rows))


def _summary_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for strategy in strategies_of(rows):
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
        strategies = strategies_of(rows)
        data = [[r[key] for r in rows if r["strategy"] == s] for s in strategies]
        ax.boxplot(data, tick_labels=strategies)
        ax.set_ylabel(label)
        ax.set_title(f"{label} per strategy ({len(data[0])} seeds)")
        for label in ax.get_xticklabels():  # long strategy names: slanted, anchored at their tick
            label.set_rotation(25)
            label.set_horizontalalignment("right")
        name = {"mean_tx_latency_s": "latency", "mean_interblock_s": "interblock"}.get(key, "throughput")
        save_figure(fig, out / f"{name}.png")
        names.append(f"{name}.png")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = BenchmarkParser(prog="python -m benchmarks.consensus", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="paper", help="scenario preset or file (default: paper)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 1..N (default: 10)")
    parser.add_argument(
        "--duration", type=float, default=2000.0, help="simulated seconds per run (default: 2000)"
    )
    parser.add_argument("--replicas", type=int, default=256, help="oracle replicas (default: 256)")
    parser.add_argument("--out", default="out/consensus", help="output directory (default: out/consensus)")
    parser.add_argument(
        "--space", default=None, metavar="SPEC",
        help="also run the configuration strategies over this space: 'default' (2 protocols x "
             "4 block sizes x 4 intervals x 4 timeouts) or e.g. "
             "'protocol=IBFT,BigFoot;block=0.5,1,2,4;interval=0.1,0.5,1,2;timeout=3,5,10,20'",
    )
    parser.add_argument(
        "--config-strategies", default=",".join(CONFIG_STRATEGIES), metavar="NAMES",
        help=f"with --space, which configuration strategies run (default: {','.join(CONFIG_STRATEGIES)})",
    )
    parser.add_argument(
        "--clairvoyant-shortlist", type=int, default=None, metavar="K",
        help="with --space, the space clairvoyant tries only the K static configurations that kept up "
             "best (default: the whole space, one chain branch per configuration and interval)",
    )
    _sweep.add_arguments(parser)
    return parser


def _fidelity_line(key: str, sel: list[dict[str, Any]]) -> str:
    errors = np.abs([f[key] for f in sel if f[key] is not None and np.isfinite(f[key])])
    if not errors.size:
        return "n/a"
    q50, q90, q99 = np.quantile(errors, [0.5, 0.9, 0.99])
    return (f"|error| median {q50:.1%}, p90 {q90:.1%}, p99 {q99:.1%}, max {errors.max():.1%}; "
            f"within 10%: {np.sum(errors <= 0.10)}/{errors.size} = {np.mean(errors <= 0.10):.1%}")


def fidelity_lines(fidelity: list[dict[str, Any]]) -> list[str]:
    """Distribution of the oracle's error per regime kind, estimate source and window."""
    lines = []
    for window in ("steady", "votes"):
        mine = [f for f in fidelity if f["window"] == window]
        groups = {
            "all-online regime 0": [f for f in mine if f["regime"] == 0],
            "all-online after a faulty one": [f for f in mine if f["offline"] == 0 and f["regime"] > 0],
            "faulty regimes": [f for f in mine if f["offline"] > 0],
        }
        for key, source in (("error_true", "true state"), ("error_estimate", "twin estimate")):
            for group, sel in groups.items():
                lines.append(f"  window {window}, {source}, {group}: {_fidelity_line(key, sel)}")
    return lines


def outcome_lines(rows: list[dict[str, Any]], summary: list[dict[str, Any]], seeds: int) -> list[str]:
    """Each twin against the static protocols and the clairvoyant bound."""
    means = {r["strategy"]: r for r in summary}

    def per_seed(strategy: str, key: str) -> list[float]:
        return [r[key] for r in sorted(rows, key=lambda r: r["seed"]) if r["strategy"] == strategy]

    lines = []
    clair = per_seed("Clairvoyant", "mean_tx_latency_s")
    clair_mean = means["Clairvoyant"]["mean_tx_latency_s_mean"]
    for twin in TWINS:
        lat, thr = means[twin]["mean_tx_latency_s_mean"], means[twin]["throughput_tps_mean"]
        better_lat = all(lat < means[p]["mean_tx_latency_s_mean"] for p in PROTOCOLS)
        better_thr = all(thr > means[p]["throughput_tps_mean"] for p in PROTOCOLS)
        ratios = np.array(per_seed(twin, "mean_tx_latency_s")) / np.array(clair)
        wins = {
            key: sum(
                all(
                    (d < o) if key != "throughput_tps" else (d > o)
                    for o in (per_seed(p, key)[i] for p in PROTOCOLS)
                )
                for i, d in enumerate(per_seed(twin, key))
            )
            for key in ("mean_tx_latency_s", "throughput_tps")
        }
        paired = "; ".join(
            f"{label} - {p} {_paired(per_seed(twin, key), per_seed(p, key))}"
            for key, label in (("mean_tx_latency_s", "latency"), ("throughput_tps", "throughput"))
            for p in PROTOCOLS
        )
        lines.append(
            f"{twin}: mean latency {lat:.2f} s ({'' if better_lat else 'NOT '}lower than both static), "
            f"mean throughput {thr:.3f} tx/s ({'' if better_thr else 'NOT '}higher than both static); "
            f"latency / Clairvoyant: mean of means {lat / clair_mean:.3f}, "
            f"per seed median {np.median(ratios):.3f} (range {ratios.min():.3f}-{ratios.max():.3f}); "
            f"beats both static per seed: latency {wins['mean_tx_latency_s']}/{seeds}, "
            f"throughput {wins['throughput_tps']}/{seeds}; paired per-seed differences, mean +- "
            f"standard error: {paired}"
        )
    return lines


def _paired(mine: list[float], other: list[float]) -> str:
    """Mean and standard error of the per-seed differences ``mine - other``."""
    diff = np.subtract(mine, other)
    se = f"{diff.std(ddof=1) / np.sqrt(diff.size):.3f}" if diff.size > 1 else "n/a"
    return f"{diff.mean():+.3f} +- {se}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.seeds < 1:
        raise DtoptError(f"--seeds must be >= 1, got {args.seeds}")
    sweep = _sweep.sweep_options(args)
    # Everything the seeds need is checked here, before any work: the scenario (and
    # with it --duration and the run-size limits), the oracle's --replicas, --out.
    check_run(args.scenario, args.duration, args.replicas, args.space)
    config_strategies = parse_strategies(args.config_strategies)
    if args.clairvoyant_shortlist is not None and args.clairvoyant_shortlist < 1:
        raise DtoptError(f"--clairvoyant-shortlist must be >= 1, got {args.clairvoyant_shortlist}")
    out = out_dir(args.out)
    results = _sweep.run_cases(
        functools.partial(run_seed, name=args.scenario, duration_s=args.duration, replicas=args.replicas,
                          space=args.space, config_strategies=config_strategies,
                          clairvoyant_shortlist=args.clairvoyant_shortlist),
        list(range(1, args.seeds + 1)),
        desc="seeds",
        **sweep,
    )
    rows = [r for res in results for r in res["rows"]]
    fidelity = [f for res in results for f in res["fidelity"]]
    compared = comparable(rows)
    n_compared = len({r["seed"] for r in compared})
    summary = _summary_rows(compared)
    hits = sum(res["choice_hits"] for res in results)
    counted = sum(res["choice_counted"] for res in results)
    columns = {"strategy": "strategy", "seeds": "seeds"}
    for key, label in METRICS.items():
        columns[f"{key}_mean"] = f"{label} mean"
        columns[f"{key}_std"] = "std"
    table = markdown_table(summary, columns)
    arrival_tps = arrival_rate_tps(load_scenario(args.scenario, args.duration, seed=1), args.duration)
    lines = [
        *(outcome_lines(compared, summary, n_compared) if compared else []),
        *config_outcome_lines(compared, strategies_of(compared), _paired, arrival_tps),
        *best_static_line([res["config"] for res in results]),
        f"Compared: {n_compared} of {args.seeds} seeds (a seed counts when every strategy committed "
        "transactions; results.csv has every run)",
        f"Dynamic's choice = hindsight-best choice: {hits}/{counted} = {hits / max(counted, 1):.1%} "
        f"of the intervals that do not begin a new regime (tie: waits within {TIE:.0%})",
        "Oracle fidelity, mean latency over each regime once steady, per static protocol:",
        *fidelity_lines(fidelity),
    ]
    print(table)
    print()
    print("\n".join(lines))
    write_csv(out / "results.csv", rows, list(rows[0]))
    write_csv(out / "fidelity.csv", fidelity, list(fidelity[0]) if fidelity else ["seed"])
    figures = _boxplots(compared, out) if compared else []
    if results[0]["config"] is not None:
        figures += config_figures(results[0]["config"], args.scenario, out)
    write_json(out / "results.json", {
        "benchmark": "consensus", "environment": environment(), "parameters": vars(args),
        "execution": _sweep.describe(sweep),
        "rows": rows, "summary": summary, "fidelity": fidelity,
        "choice_hits": hits, "choice_counted": counted,
        "decisions_seed1": results[0]["decisions"],
        "config_seed1": results[0]["config"],
    })
    write_summary(out / "summary.md", f"Dynamic consensus selection, scenario {args.scenario}", [
        (f"{args.seeds} seeds x {args.duration:g} s", table),
        ("Findings", "\n".join(f"- {line}" for line in lines)),
        ("Figures", "\n".join(f"![{f}]({f})" for f in figures)),
    ])
    report_written(out, ["results.csv", "fidelity.csv", "results.json", "summary.md", *figures])
    return 0


if __name__ == "__main__":
    # Run the importable module's main, so dask workers can unpickle run_seed by reference.
    from benchmarks import consensus as _consensus

    exit_with(run_main(_consensus.main, prog="benchmarks.consensus"))
