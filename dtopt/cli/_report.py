"""What the consensus commands share: progress over chain time, metric cells, plain tables."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from dtopt.consensus.chain import Chain, ChainRun, run_chain
from dtopt.consensus.metrics import ChainMetrics
from dtopt.consensus.scenario import Scenario

__all__ = ["metric", "metrics_summary", "run_shown", "table"]


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
