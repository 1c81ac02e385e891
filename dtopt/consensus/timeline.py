"""A run block by block, as tables and a figure: what ``dtopt chain run --out`` writes.

Everything here reads the chain's outside view only (:class:`~dtopt.consensus.view.ChainView`),
so a twin-managed run, a static run or a hand-built view are written the same way.
Units: seconds, MB, transactions per second.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.metrics import block_mean_latency_s, tx_latencies_s
from dtopt.consensus.view import ChainView
from dtopt.errors import DtoptError

__all__ = ["CONFIG_COLUMNS", "TIMELINE_COLUMNS", "block_timeline", "plot_run", "throughput_series",
           "write_block_timeline"]

#: The configuration each block was proposed under, as the block publishes it.
CONFIG_COLUMNS: Final = ("protocol", "max_block_mb", "min_block_interval_s", "round_timeout_s")

#: Columns of :func:`block_timeline` (and of ``blocks.csv``).
TIMELINE_COLUMNS: Final = (
    "height", "round", "proposer", "proposed_s", "committed_s", "n_tx", "size_mb",
    "mean_tx_latency_s", *CONFIG_COLUMNS, "change",
)


def block_timeline(view: ChainView) -> list[dict[str, Any]]:
    """One row per committed block of ``view`` (keys :data:`TIMELINE_COLUMNS`).

    ``mean_tx_latency_s`` is the block's mean transaction latency (commit minus arrival,
    s), ``None`` for an empty block; ``change`` is the configuration change the block
    carries (``"round_timeout_s=5"``, fields joined by ``;``) or ``None``.
    """
    n_tx, latency_s = tx_latencies_s(view.blocks)
    means = block_mean_latency_s(n_tx, latency_s)
    rows = []
    for block, count, mean in zip(view.blocks, n_tx, means, strict=True):
        change = dict(block.change or {})
        if block.switch_to is not None:
            change.setdefault("protocol", block.switch_to)
        rows.append({
            "height": block.height, "round": block.round, "proposer": block.proposer,
            "proposed_s": block.proposed_s, "committed_s": block.committed_s, "n_tx": int(count),
            "size_mb": block.size_mb, "mean_tx_latency_s": float(mean) if count else None,
            **{name: getattr(block, name) for name in CONFIG_COLUMNS},
            "change": ";".join(f"{k}={v}" for k, v in change.items()) or None,
        })
    return rows


def write_block_timeline(view: ChainView, path: str | Path) -> Path:
    """Write :func:`block_timeline` as CSV (empty cells where a value is ``None``); the path."""
    path = Path(path)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=TIMELINE_COLUMNS)
        writer.writeheader()
        for row in block_timeline(view):
            writer.writerow({k: "" if v is None else repr(v) if isinstance(v, float) else v
                             for k, v in row.items()})
    return path


def throughput_series(view: ChainView, window_s: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Committed and arrived transactions per second in consecutive windows of ``window_s``.

    Returns the window ends (s), shape ``(W,)``, and an array of shape ``(2, W)``: row 0
    the committed throughput (tx/s, counted at block commit), row 1 the arrival rate.
    The last window may be shorter; its rates are per second of its own length.
    """
    if not np.isfinite(window_s) or window_s <= 0:
        raise DtoptError(f"window_s must be a finite number > 0, got {window_s!r}")
    edges = np.arange(view.start_s, view.end_s, window_s)
    edges = np.append(edges, view.end_s)
    n_tx, _ = tx_latencies_s(view.blocks)
    committed_s = np.array([b.committed_s for b in view.blocks], dtype=float)
    committed, _ = np.histogram(committed_s, bins=edges, weights=n_tx)
    arrived, _ = np.histogram(view.tx_arrival_s, bins=edges)
    return edges[1:], np.vstack([committed, arrived]) / np.diff(edges)


def plot_run(view: ChainView, path: str | Path, title: str = "", window_s: float | None = None) -> Path:
    """A figure of the run over chain time, saved as PNG: per-block mean transaction latency,
    throughput against arrivals (windows of ``window_s``, default a fiftieth of the run,
    at least 10 s), and the configuration in force (protocol, block size, block interval,
    round timeout, read from the blocks). Returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = block_timeline(view)
    t = [r["committed_s"] for r in rows]
    fig, axes = plt.subplots(3, 2, figsize=(10.0, 7.5), sharex=True)
    latency = axes[0, 0]
    latency.plot([r["committed_s"] for r in rows if r["n_tx"]],
                 [r["mean_tx_latency_s"] for r in rows if r["n_tx"]], ".", ms=3)
    latency.set_ylabel("block mean tx latency (s)")
    window = window_s if window_s is not None else max(10.0, (view.end_s - view.start_s) / 50)
    ends, rates = throughput_series(view, window)
    tput = axes[0, 1]
    tput.step(ends, rates[0], where="pre", label="committed")
    tput.step(ends, rates[1], where="pre", ls="--", label="arrived")
    tput.set_ylabel(f"tx/s ({window:g} s windows)")
    tput.legend(fontsize=8)
    labels = {"protocol": "protocol", "max_block_mb": "max block (MB)",
              "min_block_interval_s": "min block interval (s)", "round_timeout_s": "round timeout (s)"}
    for ax, name in zip(axes[1:].flat, CONFIG_COLUMNS, strict=True):
        values = [r[name] for r in rows]
        if name == "protocol":
            names = sorted(set(values))
            values = [names.index(v) for v in values]
            ax.set_yticks(range(len(names)), names)
        ax.step(t, values, where="post")
        ax.set_ylabel(labels[name])
    for ax in axes[-1]:
        ax.set_xlabel("chain time (s)")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
