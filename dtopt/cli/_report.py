"""What the consensus commands share: the genesis configuration and output flags, progress over
chain time, metric cells, plain tables, and the files of ``--out``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dtopt.consensus.chain import Chain, ChainRun, run_chain
from dtopt.consensus.metrics import ChainMetrics
from dtopt.consensus.scenario import Scenario
from dtopt.consensus.timers import ROUND_TIMERS
from dtopt.errors import DtoptError

__all__ = [
    "add_configuration_arguments", "configured", "metric", "metrics_summary", "run_shown", "table",
    "write_run",
]

# Flag -> the ChainConfig field it sets at genesis.
_CONFIG_FLAGS = {"block_mb": "max_block_mb", "interval_s": "min_block_interval_s",
                 "timeout_s": "round_timeout_s"}


def add_configuration_arguments(parser: argparse.ArgumentParser) -> None:
    """``--block-mb``, ``--interval-s``, ``--timeout-s``, ``--round-timer`` (the genesis
    configuration) and ``--out``."""
    parser.add_argument("--block-mb", type=float, metavar="MB",
                        help="maximum block size at genesis (MB; default: the scenario's)")
    parser.add_argument("--interval-s", type=float, metavar="S",
                        help="minimum block interval at genesis (s; default: the scenario's)")
    parser.add_argument("--timeout-s", type=float, metavar="S",
                        help="round timeout at genesis (s; the fast-path timeout keeps its ratio to it; "
                             "default: the scenario's)")
    parser.add_argument("--round-timer", choices=ROUND_TIMERS, default=None,
                        help="round timer: doubling (round r waits the round timeout x 2^r, capped, "
                             "as IBFT 2.0) or fixed (every round waits the round timeout); default: "
                             "the scenario's (doubling unless its file says otherwise)")
    parser.add_argument("--out", metavar="DIR",
                        help="also write results.json, blocks.csv (the block timeline) and run.png "
                             "(latency, throughput and the configuration in force over time) to DIR")


def configured(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """``scenario`` with the genesis configuration the flags ask for.

    The values are checked as a configuration space checks them (every value > 0, a block
    holding at least one transaction, a round timeout longer than one message delay) and
    applied by the one rule of a run-time change (:meth:`ChainConfig.switched`).
    """
    from dtopt.twin.config_search.space import ConfigurationSpace

    if args.round_timer is not None:  # a choice argparse has checked
        scenario = scenario.with_(round_timer=args.round_timer)
    changes = {field: getattr(args, flag) for flag, field in _CONFIG_FLAGS.items()
               if getattr(args, flag) is not None}
    if not changes:
        return scenario
    flags = ", ".join(f"--{flag.replace('_', '-')}" for flag in _CONFIG_FLAGS
                      if getattr(args, flag) is not None)
    config = scenario.config
    try:
        ConfigurationSpace(
            protocols=(config.protocol,),
            max_block_sizes_mb=(changes.get("max_block_mb", config.max_block_mb),),
            min_block_intervals_s=(changes.get("min_block_interval_s", config.min_block_interval_s),),
            round_timeouts_s=(changes.get("round_timeout_s", config.round_timeout_s),),
        ).validate_against(tx_size_mb=config.tx_size_mb, min_message_delay_s=config.min_message_delay_s)
    except DtoptError as err:
        raise DtoptError(f"{flags}: {err}") from None
    return scenario.with_(config=config.switched(**changes))


def write_run(out_arg: str, payload: Mapping[str, Any], run: ChainRun, title: str) -> list[Path]:
    """``--out``: results.json (``payload``), blocks.csv and run.png; the paths written."""
    from dtopt.cli._out import output_dir, report_written, write_json
    from dtopt.consensus.timeline import plot_run, write_block_timeline

    out = output_dir(out_arg)
    paths = [write_json(out / "results.json", payload), write_block_timeline(run.view, out / "blocks.csv"),
             plot_run(run.view, out / "run.png", title=title)]
    report_written(out, paths)
    return paths


def metric(value: float | None, unit: str, digits: int = 3) -> str:
    """A metric with its unit; ``n/a`` where the window has none (e.g. no block committed)."""
    return "n/a" if value is None else f"{value:.{digits}f} {unit}"


def metrics_summary(m: ChainMetrics, runtime_s: float) -> str:
    """A run's metrics, one per indented line."""
    per_protocol = ", ".join(f"{k} {v}" for k, v in m.blocks_per_protocol.items())
    return "\n".join([
        f"  mean tx latency     {metric(m.mean_tx_latency_s, 's')}",
        f"  mean block latency  {metric(m.mean_block_latency_s, 's')}",
        f"  mean inter-block    {metric(m.mean_interblock_s, 's')}",
        f"  throughput          {metric(m.throughput_tps, 'tx/s')}",
        f"  blocks              {m.n_blocks} ({per_protocol}), "
        f"{m.n_tx_committed} tx committed, {m.timed_out_rounds} timed-out rounds",
        f"  runtime             {runtime_s:.2f} s wall clock",
    ])


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """A plain-text table whose columns are as wide as their widest cell (nothing overflows)."""
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])


def run_shown(
    scenario: Scenario,
    protocol: str,
    duration_s: float,
    seed: int,
    controller: Callable[[Chain, float], None] | None = None,
    desc: str = "chain",
) -> ChainRun:
    """:func:`run_chain` with the chain time drawn on a progress bar (stderr).

    Only on an interactive terminal and outside CI, where the bar advances at every
    twin interval; the results are the same either way (the chain's randomness
    does not depend on how its run is stepped).
    """
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return run_chain(scenario, protocol, duration_s=duration_s, seed=seed, controller=controller)
    from tqdm import tqdm

    with tqdm(total=round(duration_s), desc=desc, unit="s", file=sys.stderr, leave=False) as bar:

        def shown(chain: Chain, t_s: float) -> None:
            if controller is not None:
                controller(chain, t_s)
            bar.update(round(t_s) - bar.n)

        return run_chain(scenario, protocol, duration_s=duration_s, seed=seed, controller=shown)
