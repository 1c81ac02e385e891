"""``dtopt twin``: run the chain under digital-twin management.

``dtopt twin run --scenario paper --duration 2000 --seed 1 [--space SPEC] [--block-mb MB]
[--interval-s S] [--timeout-s S] [--json] [--out DIR]``

With ``--space`` (e.g. ``"protocol=IBFT,BigFoot;block=0.5,1,2,4;interval=0.1,0.5,1,2;timeout=3,5,10,20"``)
the twin tunes the whole configuration and the output is the configuration timeline.
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from dtopt.cli._report import add_configuration_arguments, configured, metric, run_shown, table, write_run
from dtopt.consensus.loading import load_scenario
from dtopt.consensus.presets import SCENARIOS
from dtopt.twin import ANTICIPATION, DigitalTwin, TwinRecord
from dtopt.twin.config_search import ConfigurationSpace

__all__ = ["register"]

def register(subparsers: Any) -> None:
    """Add the ``twin`` sub-command (with its ``run`` action) to the ``dtopt`` parser."""
    parser = subparsers.add_parser("twin", help="dynamic consensus selection by the digital twin (MAPE-K)")
    actions = parser.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="run a scenario under twin management; print decisions and metrics")
    run.add_argument(
        "--scenario", default="paper",
        help=f"preset ({', '.join(SCENARIOS)}) or a .toml/.json/.yaml scenario file (default: paper)",
    )
    run.add_argument("--duration", type=float, default=2000.0, help="simulated seconds (default: 2000)")
    run.add_argument("--seed", type=int, default=1,
                     help="seed of the chain and the oracle, an integer >= 0 (default: 1)")
    run.add_argument("--protocol", default="IBFT", help="protocol at genesis (default: IBFT)")
    run.add_argument("--replicas", type=int, default=256, help="oracle Monte Carlo replicas (default: 256)")
    run.add_argument("--hysteresis", type=float, default=0.0,
                     help="relative predicted gain needed to switch, in [0, 1) (default: 0)")
    run.add_argument("--anticipate", choices=ANTICIPATION, default="seasonal",
                     help="use the history of inferred states: seasonal (decide for the forecast "
                          "of the next interval once the states repeat periodically) or off "
                          "(reactive) (default: seasonal)")
    run.add_argument("--space", default=None, metavar="SPEC",
                     help="tune the whole configuration over this space, e.g. "
                          "'protocol=IBFT,BigFoot;block=0.5,1,2,4;interval=0.1,0.5,1,2;timeout=3,5,10,20' "
                          "(MB and s; a key left out takes its default list; 'default' = the default "
                          "space); default: the scenario file's space section, if any, else "
                          "the twin picks the protocol only")
    run.add_argument("--home", choices=("initial", "none"), default="initial",
                     help="with a space, the twin's home: initial (default; the configuration at genesis, "
                          "from --protocol, --block-mb, --interval-s, --timeout-s, left only for a "
                          "predicted gain beyond 10%% and the predictions' recent error) or none "
                          "(every decision on the predictions alone)")
    add_configuration_arguments(run)
    run.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    scenario = configured(load_scenario(args.scenario, duration_s=args.duration, seed=args.seed), args)
    protocol = scenario.rules(args.protocol).name
    if args.out:
        from dtopt.cli._out import output_dir

        output_dir(args.out)  # refused before the run, not after it
    space = parse_space(args.space) or scenario.space  # --space wins over the file's section
    twin = DigitalTwin(
        scenario.config.replace(protocol=protocol),  # the genesis configuration: the home one
        scenario.twin_interval_s,
        replicas=args.replicas,
        seed=args.seed,
        hysteresis=args.hysteresis,
        anticipate=args.anticipate,
        space=space,
        home="initial" if args.home == "initial" else None,
    )
    # The table lists every skipped interval with its reason; the twin's log line would repeat it.
    logging.getLogger("dtopt.twin").setLevel(logging.ERROR)
    result = run_shown(scenario, protocol, args.duration, args.seed, controller=twin, desc="twin")
    m = result.metrics
    payload = {
        "scenario": args.scenario, "seed": args.seed, "duration_s": args.duration,
        "round_timer": scenario.round_timer, "runtime_s": result.runtime_s, "metrics": m.to_dict(),
        "decisions": [r.to_dict() for r in twin.records],
    }
    if args.out:
        write_run(args.out, payload, result, f"twin run: {args.scenario}, seed {args.seed}")
    if args.json:
        print(json.dumps(payload, allow_nan=False))
        return 0
    print(f"twin run: scenario {args.scenario}, {args.duration:g} s, seed {args.seed}, "
          f"genesis protocol {protocol}, {scenario.round_timer} round timer, anticipation {args.anticipate}")
    protocols = twin.protocols
    ranked = twin.decider.criterion  # "wait" (default) or "latency"
    if twin.records and space is not None:
        print(configuration_table(twin.records, ranked))
        home = "." if twin.home is None or twin.search is None else (
            f"; it leaves its home, {twin.home.label()}, only for a predicted gain beyond "
            f"{twin.search.departure_margin:.0%} and the predictions' recent error.")
        print(f"Over the space {space.spec()} ({len(space)} configurations) the twin picks, each "
              f"{scenario.twin_interval_s:g} s, the lowest predicted {ranked} among the configurations "
              "predicted to carry the estimated arrival rate (else the highest throughput)" + home)
    elif twin.records:
        print(decision_table(twin.records, protocols, ranked))
        print(f"The twin ranks the protocols by predicted {ranked} (s) over the next "
              f"{scenario.twin_interval_s:g} s and picks the lowest"
              + (f" unless it is not {args.hysteresis:.0%} below the one in force" if args.hysteresis else "")
              + "; the predicted mean latency is shown for reference.")
    else:
        print(f"no twin decision: the run is not longer than one twin interval "
              f"({scenario.twin_interval_s:g} s)")
    per_protocol = ", ".join(f"{k} {v}" for k, v in m.blocks_per_protocol.items())
    print(f"mean tx latency {metric(m.mean_tx_latency_s, 's')}, mean inter-block "
          f"{metric(m.mean_interblock_s, 's')}, throughput {metric(m.throughput_tps, 'tx/s')}, "
          f"blocks {m.n_blocks} ({per_protocol}), {m.n_tx_committed} tx committed, "
          f"runtime {result.runtime_s:.2f} s")
    return 0


def decision_table(records: list[TwinRecord], protocols: tuple[str, ...], ranked: str) -> str:
    """One row per twin interval: the decision and, per protocol, the ranked and the latency prediction."""
    headers = ["t (s)", "in force", "chosen", "switch", "offline", "decided for",
               *(f"{ranked} {p}" for p in protocols),
               *(f"latency {p}" for p in protocols if ranked != "latency")]
    rows = []
    for r in records:
        if r.error is not None:
            rows.append([f"{r.t_s:.0f}", r.in_force, r.chosen, "-", "-", "skipped (below)",
                         *("-" for _ in headers[6:])])
            continue
        figures = [r.predicted_score_s, *([r.predicted_latency_s] if ranked != "latency" else [])]
        rows.append([
            f"{r.t_s:.0f}", r.in_force, r.chosen, "yes" if r.switched else "no",
            ",".join(r.offline) or "-",
            " ".join(f"{name} {p:.0%}" if p < 1 else name for name, p in r.basis.items()),
            *(_seconds(values.get(p)) for values in figures for p in protocols),
        ])
    skipped = [f"t = {r.t_s:g} s skipped, protocol kept: {r.error}" for r in records if r.error is not None]
    right = [True, False, False, False, False, False, *(True for _ in headers[6:])]
    return "\n".join([table(headers, rows, right), *skipped])


def parse_space(text: str | None) -> ConfigurationSpace | None:
    """``--space``: ``None`` (protocol only), ``"default"`` or a space's text form."""
    if text is None:
        return None
    return ConfigurationSpace() if text.strip().lower() == "default" else ConfigurationSpace.parse(text)


def configuration_table(records: list[TwinRecord], ranked: str) -> str:
    """The configuration timeline: one row per twin interval, with the chosen configuration's
    predicted ``ranked`` figure and throughput and the size of the decision's Pareto set."""
    headers = ["t (s)", "in force", "chosen", "change", "offline", f"pred. {ranked} (s)",
               "pred. tput (tx/s)", "pareto"]
    rows = []
    for r in records:
        if r.error is not None or r.chosen_estimate is None or r.in_force_config is None:
            rows.append([f"{r.t_s:.0f}", r.in_force, r.chosen, "skipped (below)",
                         *("-" for _ in headers[4:])])
            continue
        chosen = r.chosen_estimate
        rows.append([
            f"{r.t_s:.0f}", r.in_force_config.label(), r.chosen_config.label(),
            " ".join(f"{k}={v}" for k, v in r.changes.items()) or "-",
            ",".join(r.offline) or "-",
            _seconds(chosen.mean_latency_s), f"{chosen.mean_throughput_tps:.1f}", str(len(r.pareto)),
        ])
    skipped = [f"t = {r.t_s:g} s skipped, configuration kept: {r.error}"
               for r in records if r.error is not None]
    right = [True, False, False, False, False, True, True, True]
    return "\n".join([table(headers, rows, right), *skipped])


def _seconds(value: float | None) -> str:
    """A predicted figure (s); ``n/a`` when the oracle predicts no commit at all (infinite)."""
    return "n/a" if value is None or value == float("inf") else f"{value:.2f}"
