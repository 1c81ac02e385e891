"""What the consensus commands share: progress over chain time, metric cells, plain tables."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["ChainProgress", "metric", "table"]


def metric(value: float | None, unit: str, digits: int = 3) -> str:
    """A metric with its unit; ``n/a`` where the window has none (e.g. no block committed)."""
    return "n/a" if value is None else f"{value:.{digits}f} {unit}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """A plain-text table whose columns are as wide as their widest cell (nothing overflows)."""
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])


class ChainProgress:
    """A ``run_chain`` controller that draws chain time on a progress bar (stderr).

    Only on an interactive terminal and outside CI; otherwise :meth:`wrap` returns
    the inner controller unchanged. The results are the same either way (the
    chain's randomness does not depend on how its run is stepped).
    """

    def __init__(self, duration_s: float, desc: str) -> None:
        self.enabled = sys.stderr.isatty() and not os.environ.get("CI")
        self._bar: Any = None
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=round(duration_s), desc=desc, unit="s", file=sys.stderr, leave=False)

    def wrap(self, inner: Callable[[Any, float], None] | None) -> Callable[[Any, float], None] | None:
        """``inner`` (or nothing) with the bar advanced at every twin interval."""
        if not self.enabled:
            return inner

        def controller(chain: Any, t_s: float) -> None:
            if inner is not None:
                inner(chain, t_s)
            self._bar.update(round(t_s) - self._bar.n)

        return controller

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
