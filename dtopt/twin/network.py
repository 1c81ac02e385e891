"""Selection networks: exact order statistics of tiny arrays, vectorised over many rows.

The oracle needs, per round, the k-th earliest of ``n`` vote arrivals (``n`` = the
validators, about 10) for every replica and receiver. ``np.partition`` along a
length-``n`` axis pays a per-row overhead that dominates for such tiny rows. A
comparator network instead works on the transposed layout ``(n, rows)``: every
compare-exchange is one ``np.minimum`` and one ``np.maximum`` over two contiguous
rows, so the cost is a fixed number of long vectorised operations.

:class:`SelectionNetwork` takes Batcher's odd-even merge sort on the next power
of two, drops every comparator that touches a padding wire (padding with ``+inf``
makes them no-ops), then prunes backwards everything the requested ranks do not
depend on, keeping only the min (or max) half of a comparator whose other output
is never read. The requested ranks are exact; the other wires are left in an
unspecified order.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from dtopt.errors import DtoptError

__all__ = ["SelectionNetwork", "batcher_comparators"]


def batcher_comparators(n: int) -> list[tuple[int, int]]:
    """Comparators ``(i, j)``, ``i < j``, of Batcher's odd-even merge sort of ``n`` wires.

    After applying them in order (``min`` to wire ``i``, ``max`` to wire ``j``) the
    wires are sorted ascending.
    """
    if n < 1:
        raise DtoptError(f"a network needs at least one wire, got {n!r}")
    size = 1 << max(n - 1, 0).bit_length()
    pairs = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return [(a, b) for a, b in pairs if b < n]


class SelectionNetwork:
    """The comparators of a sorting network on ``n`` wires that the given ranks need.

    Parameters
    ----------
    n : number of wires (values per row), >= 1.
    ranks : 0-based ranks to compute exactly (0 = smallest, ``n - 1`` = largest).

    Attributes
    ----------
    steps : ``(i, j, keep_min, keep_max)`` per comparator, in application order.
    """

    def __init__(self, n: int, ranks: Iterable[int]) -> None:
        ranks = sorted({int(r) for r in ranks})
        if not ranks or ranks[0] < 0 or ranks[-1] >= n:
            raise DtoptError(f"ranks must be in [0, {n - 1}], got {ranks!r}")
        self.n = int(n)
        self.ranks = tuple(ranks)
        needed = set(ranks)
        steps = []
        for i, j in reversed(batcher_comparators(self.n)):
            keep_min, keep_max = i in needed, j in needed
            if keep_min or keep_max:
                steps.append((i, j, keep_min, keep_max))
                needed |= {i, j}
        self.steps = tuple(reversed(steps))

    def __len__(self) -> int:
        return len(self.steps)

    def select(self, values: NDArray, spare: NDArray | None = None) -> list[NDArray]:
        """The requested ranks of ``values`` along axis 0, in the order of ``ranks``.

        ``values`` has shape ``(n, ...)`` and is overwritten (used as scratch);
        each result is an array of shape ``values.shape[1:]`` that may alias
        ``values`` or ``spare`` (an optional scratch row of that shape and dtype).
        """
        if values.shape[0] != self.n:
            raise DtoptError(f"values must have {self.n} rows along axis 0, got {values.shape[0]}")
        wires = list(values)
        spare = np.empty_like(wires[0]) if spare is None else spare
        for i, j, keep_min, keep_max in self.steps:
            a, b = wires[i], wires[j]
            if keep_min and keep_max:
                np.minimum(a, b, out=spare)
                np.maximum(a, b, out=b)
                wires[i], spare = spare, a
            elif keep_min:
                np.minimum(a, b, out=a)
            else:
                np.maximum(a, b, out=b)
        return [wires[r] for r in self.ranks]
