"""Dynamic consensus selection: static IBFT, static BigFoot, the twin and a clairvoyant bound.

    python -m benchmarks.consensus --scenario paper [--seeds 10] [--duration 2000] [--workers 2] [--out DIR]
        [--space default|SPEC] [--training-seeds 101-110] [--clairvoyant-shortlist K]

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
* with ``--space``: the configuration strategies of :mod:`benchmarks.consensus.config_strategies`
  (``Config twin``: the twin choosing protocol, block size, block interval and
  round timeout over the space; ``default`` is the 128-configuration default
  space; the static ``Best static`` in hindsight and ``Tuned offline`` on the
  ``--training-seeds``, from one sweep of every configuration on every test and
  training seed; the space clairvoyant; the ``Bandit`` and ``Learned forest``
  online learners), compared with every strategy above by paired per-seed
  differences; a table of every strategy's latency, throughput and configuration
  changes in force with its paired per-seed latency ratio to both statics (mean and
  worst seed); figures of the configuration in force against the regimes
  (config_timeline.png), of each regime's predicted latency/throughput Pareto
  fronts (config_pareto.png) and of the latency over time of the twin and both
  statics on seed 1 (latency_over_time.png).

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
(:mod:`benchmarks.common.sweep`: a local cluster of one process per core by default,
``--workers N``, ``--scheduler ADDRESS`` or ``--serial``). Writes results.csv
(one row per seed and strategy), fidelity.csv, results.json, summary.md and
latency.png / interblock.png / throughput.png into ``--out`` (default
``out/consensus``; checked to be writable before the run).
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Sequence

from benchmarks.common.output import (
    BenchmarkParser,
    environment,
    markdown_table,
    out_dir,
    report_written,
    write_csv,
    write_json,
    write_summary,
)
from benchmarks.common.sweep import add_arguments, describe, run_cases, sweep_options
from benchmarks.consensus.config_strategies import (
    CONFIG_STRATEGIES,
    TWIN_HOMES,
    arrival_rate_tps,
    best_static_line,
    config_outcome_lines,
    needs_sweep,
    needs_tuning,
    parse_space,
    parse_strategies,
)
from benchmarks.consensus.fidelity import fidelity_lines
from benchmarks.consensus.figures import config_figures
from benchmarks.consensus.report import latency_figure, strategy_table
from benchmarks.consensus.runs import TIE, check_run, run_seed, scenario_of
from benchmarks.consensus.static_sweep import (
    TRAINING_SEEDS,
    parse_seeds,
    static_sweep,
    tuned_offline,
)
from benchmarks.consensus.tables import (
    METRICS,
    _boxplots,
    _paired,
    _summary_rows,
    comparable,
    outcome_lines,
    strategies_of,
)
from dtopt.consensus.timers import ROUND_TIMERS
from dtopt.errors import DtoptError


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
        "--space",
        default=None,
        metavar="SPEC",
        help="also run the configuration strategies over this space: 'default' (2 protocols x "
        "4 block sizes x 4 intervals x 4 timeouts) or e.g. "
        "'protocol=IBFT,BigFoot;block=0.5,1,2,4;interval=0.1,0.5,1,2;timeout=3,5,10,20'",
    )
    parser.add_argument(
        "--config-strategies",
        default=",".join(CONFIG_STRATEGIES),
        metavar="NAMES",
        help=f"with --space, which configuration strategies run (default: {','.join(CONFIG_STRATEGIES)})",
    )
    parser.add_argument(
        "--clairvoyant-shortlist",
        type=int,
        default=None,
        metavar="K",
        help="with --space, the space clairvoyant tries only the K static configurations that kept up "
        "best (default: the whole space, one chain branch per configuration and interval)",
    )
    parser.add_argument(
        "--training-seeds",
        default=f"{TRAINING_SEEDS[0]}-{TRAINING_SEEDS[-1]}",
        metavar="SEEDS",
        help="with --space, the seeds the Tuned offline static is tuned on, disjoint from the test seeds "
        f"1..N (default: {TRAINING_SEEDS[0]}-{TRAINING_SEEDS[-1]}; e.g. 101-103 or 101,105)",
    )
    parser.add_argument(
        "--twin-home",
        choices=TWIN_HOMES,
        default="tuned",
        help="with --space, the Config twin's home: tuned (default; the chain starts in the Tuned offline "
        "configuration and the twin leaves it only for a clear predicted gain) or none (the scenario's "
        "configuration, no home)",
    )
    parser.add_argument(
        "--round-timer",
        choices=ROUND_TIMERS,
        default=None,
        help="round timer of every run: doubling (IBFT 2.0) or fixed (the seed experiment's); "
        "default: the scenario's",
    )
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.seeds < 1:
        raise DtoptError(f"--seeds must be >= 1, got {args.seeds}")
    sweep = sweep_options(args)
    # Everything the seeds need is checked here, before any work: the scenario (and
    # with it --duration and the run-size limits), the oracle's --replicas, --out.
    check_run(args.scenario, args.duration, args.replicas, args.space, args.round_timer)
    config_strategies = parse_strategies(args.config_strategies)
    if args.clairvoyant_shortlist is not None and args.clairvoyant_shortlist < 1:
        raise DtoptError(f"--clairvoyant-shortlist must be >= 1, got {args.clairvoyant_shortlist}")
    seeds = list(range(1, args.seeds + 1))
    training = parse_seeds(args.training_seeds) if needs_tuning(config_strategies, args.twin_home) else ()
    if set(training) & set(seeds):
        raise DtoptError(f"--training-seeds must be disjoint from the test seeds 1..{args.seeds}, "
                         f"got {args.training_seeds}")
    out = out_dir(args.out)
    statics = tuned = None
    if args.space and needs_sweep(config_strategies, args.clairvoyant_shortlist, args.twin_home):
        space = parse_space(args.space)
        scenarios = functools.partial(scenario_of, args.scenario, args.duration, round_timer=args.round_timer)
        swept = static_sweep(scenarios, args.duration, space, [*seeds, *training], **sweep)
        tuned = tuned_offline(swept, training) if training else None
        statics = {seed: swept[seed] for seed in seeds}
    results = run_cases(
        functools.partial(
            run_seed,
            name=args.scenario,
            duration_s=args.duration,
            replicas=args.replicas,
            space=args.space,
            config_strategies=config_strategies,
            clairvoyant_shortlist=args.clairvoyant_shortlist,
            swept=statics,
            tuned=tuned,
            round_timer=args.round_timer,
            twin_home=args.twin_home,
        ),
        seeds,
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
    # each seed draws its own regimes (a preset's load swings differ): the mean over the seeds
    arrival_tps = sum(arrival_rate_tps(scenario_of(args.scenario, args.duration, seed, args.round_timer),
                                       args.duration) for seed in seeds) / len(seeds)
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
    sections = [(f"{args.seeds} seeds x {args.duration:g} s", table)]
    by_strategy: list = []
    if args.space and compared:
        by_strategy, ratio_table = strategy_table(compared)
        sections.append(("Every strategy against the static configurations (paired per seed)", ratio_table))
        if tuned is not None:
            lines.append(f"Tuned offline on seeds {args.training_seeds}: {tuned.label()}")
    print("\n\n".join(text for _, text in sections))
    print()
    print("\n".join(lines))
    write_csv(out / "results.csv", rows, list(rows[0]))
    write_csv(out / "fidelity.csv", fidelity, list(fidelity[0]) if fidelity else ["seed"])
    figures = _boxplots(compared, out) if compared else []
    if results[0]["config"] is not None:
        figures += config_figures(results[0]["config"], args.scenario, out)
        figures += latency_figure(results[0]["config"], args.scenario, out)
    write_json(
        out / "results.json",
        {
            "benchmark": "consensus",
            "environment": environment(),
            "parameters": vars(args),
            "execution": describe(sweep),
            "rows": rows,
            "summary": summary,
            "strategy_table": by_strategy,
            "fidelity": fidelity,
            "choice_hits": hits,
            "choice_counted": counted,
            "decisions_seed1": results[0]["decisions"],
            "config_seed1": results[0]["config"],
            "tuned_offline": None if tuned is None else {
                "training_seeds": list(training), "configuration": tuned.to_dict(), "label": tuned.label()},
            "best_static_per_seed": None if statics is None else {
                seed: static.best.configuration.label() for seed, static in statics.items()},
        },
    )
    write_summary(
        out / "summary.md",
        f"Dynamic consensus selection, scenario {args.scenario}",
        [
            *sections,
            ("Findings", "\n".join(f"- {line}" for line in lines)),
            ("Figures", "\n".join(f"![{f}]({f})" for f in figures)),
        ],
    )
    report_written(out, ["results.csv", "fidelity.csv", "results.json", "summary.md", *figures])
    return 0
