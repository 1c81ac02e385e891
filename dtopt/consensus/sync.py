"""Block sync of the message-level chain: a node that is behind fetches the blocks it misses.

A node learns it is behind from a message for a higher height, a final block's
announcement, or when it comes back online. It then asks one peer for the
blocks between its height and the peer's (request, transfer of every block at
the link bandwidth, validation of each: :meth:`ChainConfig.sync_delay_s`) and
commits them on arrival. One fetch at a time per node; a fetch in flight is
lost when the node goes offline.
"""

from __future__ import annotations

from typing import Any

from dtopt.consensus.engine import SyncDone
from dtopt.consensus.nodes import Node

__all__ = ["SyncMixin"]


class SyncMixin:
    """The :class:`~dtopt.consensus.chain.Chain`'s block-sync steps (they use its nodes and links)."""

    _nodes: list[Node]
    _bandwidth: Any
    _prop: list[list[float]]
    _schedule: Any
    _commit: Any

    def _request_sync(self, node: Node, src: Node, t: float) -> None:
        """``node`` fetches the blocks it misses from ``src``."""
        if node.syncing or not node.online:
            return
        target, have = src.height, node.height
        if target <= have:
            return
        node.syncing = True
        blocks = src.chain[have:target]
        i, j = node.index, src.index
        delay = node.config.sync_delay_s(
            [b.size_mb for b in blocks], self._bandwidth[j], self._bandwidth[i],
            self._prop[i][j], self._prop[j][i],
        )
        self._schedule(SyncDone, t + delay, i, j, target)

    def on_sync_done(self, event: SyncDone) -> None:
        """The fetched blocks arrive: commit them in order; keep up if the source moved on."""
        node, src, t = self._nodes[event.node], self._nodes[event.src], event.time_s
        if not node.syncing:
            return  # went offline meanwhile; the transfer was lost
        node.syncing = False
        have = node.height
        if event.target <= have:
            return
        blocks = src.chain[have:event.target]
        for block in blocks[:-1]:
            self._commit(node, block, block.round, t, start_next=False)
        self._commit(node, blocks[-1], blocks[-1].round, t)
        if src.height > node.height:
            self._request_sync(node, src, t)
