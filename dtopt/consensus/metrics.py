"""Performance metrics of a chain, computed from its outside view only.

Because they read nothing but a :class:`~dtopt.consensus.view.ChainView`, the twin
and the benchmarks can score any window of any run (simulated or predicted) the
same way the paper does (Diamantopoulos et al., 2023, section 4.3).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.protocols import PROTOCOLS
from dtopt.consensus.view import BlockRecord, ChainView
from dtopt.errors import DtoptError

__all__ = ["ChainMetrics", "block_mean_latency_s", "chain_metrics", "tx_latencies_s"]


@dataclass(frozen=True)
class ChainMetrics:
    """Metrics of one window of a chain run.

    Attributes
    ----------
    mean_tx_latency_s : block commit time minus transaction arrival, averaged over all
        committed transactions (s); ``None`` without any (``n_tx_committed == 0``).
    mean_block_latency_s : the same averaged per block first, then over the blocks that
        carry transactions, as the paper does (s); ``None`` without any.
    mean_interblock_s : mean time between consecutive committed blocks (s), the first
        block counted from the window start (the paper's formula, genesis at 0); ``None``
        without blocks (``n_blocks == 0``).
    throughput_tps : committed transactions per second of window length.
    n_blocks, n_tx_committed : counts in the window.
    blocks_per_protocol : blocks committed under each protocol (the BFT protocols always
        listed, DPoS when it committed any).
    timed_out_rounds : rounds that timed out (sum of the blocks' round numbers).
    """

    mean_tx_latency_s: float | None
    mean_block_latency_s: float | None
    mean_interblock_s: float | None
    throughput_tps: float
    n_blocks: int
    n_tx_committed: int
    blocks_per_protocol: dict[str, int] = field(default_factory=dict)
    timed_out_rounds: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain Python values (``None`` where there is no value), ready for JSON."""
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        """:meth:`to_dict` as a JSON object (strict JSON: no NaN or infinity can occur)."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


def chain_metrics(view: ChainView, duration_s: float | None = None) -> ChainMetrics:
    """Metrics of the blocks committed in ``view``.

    Parameters
    ----------
    view : the outside view of a window.
    duration_s : window length for the throughput (s); default ``view.end_s - view.start_s``.
    """
    if duration_s is None:
        duration_s = view.end_s - view.start_s
    if not np.isfinite(duration_s) or duration_s <= 0:
        raise DtoptError(f"duration_s must be a finite number > 0, got {duration_s!r}")
    blocks = view.blocks
    committed_s = np.array([b.committed_s for b in blocks], dtype=float)
    n_tx, latency_s = tx_latencies_s(blocks)
    total_tx = int(n_tx.sum())
    if total_tx:
        mean_tx: float | None = float(latency_s.mean())
        mean_block: float | None = float(block_mean_latency_s(n_tx, latency_s)[n_tx > 0].mean())
    else:
        mean_tx = mean_block = None
    interblock = float((committed_s[-1] - view.start_s) / len(blocks)) if blocks else None
    per_protocol = {name: 0 for name, rules in PROTOCOLS.items() if not rules.slots}
    for block in blocks:
        per_protocol[block.protocol] = per_protocol.get(block.protocol, 0) + 1
    return ChainMetrics(
        mean_tx_latency_s=mean_tx,
        mean_block_latency_s=mean_block,
        mean_interblock_s=interblock,
        throughput_tps=total_tx / float(duration_s),
        n_blocks=len(blocks),
        n_tx_committed=total_tx,
        blocks_per_protocol=per_protocol,
        timed_out_rounds=int(sum(b.round for b in blocks)),
    )


def tx_latencies_s(blocks: Sequence[BlockRecord]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The transaction counts of ``blocks``, shape ``(B,)``, and the latency of every transaction
    they carry (its block's commit time minus its arrival, s), in block order, shape ``(n_tx.sum(),)``."""
    n_tx = np.array([len(b.tx_ids) for b in blocks], dtype=np.int64)
    if not n_tx.sum():
        return n_tx, np.zeros(0)
    committed_s = np.array([b.committed_s for b in blocks], dtype=float)
    return n_tx, np.repeat(committed_s, n_tx) - np.concatenate([b.tx_arrival_s for b in blocks])


def block_mean_latency_s(n_tx: NDArray[np.int64], latency_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each block's mean transaction latency (s), shape ``(B,)``, from :func:`tx_latencies_s`;
    0 for a block without transactions (select ``n_tx > 0`` to leave those out)."""
    out = np.zeros(len(n_tx))
    has_tx = n_tx > 0
    if has_tx.any():  # segment sums over the concatenated latencies
        sums = np.add.reduceat(latency_s, np.concatenate([[0], np.cumsum(n_tx)[:-1]])[has_tx])
        out[has_tx] = sums / n_tx[has_tx]
    return out
