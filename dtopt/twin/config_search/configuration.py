"""One configuration of the chain, and a batch of them as arrays (:mod:`.space` enumerates them).

A :class:`Configuration` is a frozen record whose field names are those of the chain's
configuration; a :class:`ConfigurationBatch` holds several, column by column, for
vectorised cost functions. Units: MB and seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Configuration", "ConfigurationBatch"]


@dataclass(frozen=True)
class Configuration:
    """One configuration of the chain (field names as in the chain's configuration).

    Attributes
    ----------
    protocol : consensus protocol name (``"IBFT"`` or ``"BigFoot"``).
    max_block_size_mb : maximum block size (MB).
    min_block_interval_s : minimum time between consecutive blocks (s).
    round_timeout_s : a round not committed after this long changes round (s).
    round_timer : ``"doubling"`` or ``"fixed"``, or ``None``: the chain's own (not tuned).
    """

    protocol: str
    max_block_size_mb: float
    min_block_interval_s: float
    round_timeout_s: float
    round_timer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields it sets (the round timer only when it sets one)."""
        out: dict[str, Any] = {
            "protocol": self.protocol,
            "max_block_size_mb": self.max_block_size_mb,
            "min_block_interval_s": self.min_block_interval_s,
            "round_timeout_s": self.round_timeout_s,
        }
        if self.round_timer is not None:
            out["round_timer"] = self.round_timer
        return out

    def label(self) -> str:
        """Short text, e.g. ``IBFT 1 MB / 0.1 s / 10 s`` (``... / 10 s fixed`` with a timer)."""
        timer = "" if self.round_timer is None else f" {self.round_timer}"
        return (
            f"{self.protocol} {self.max_block_size_mb:g} MB / {self.min_block_interval_s:g} s"
            f" / {self.round_timeout_s:g} s{timer}"
        )


@dataclass(frozen=True, eq=False)
class ConfigurationBatch:
    """Several configurations of one space as arrays, all of shape ``(B,)``.

    Attributes
    ----------
    indices : position of each configuration in its space's enumeration.
    protocols : the space's protocol names; ``protocol_index`` points into it.
    protocol_index : protocol of each configuration, as an index into ``protocols``.
    max_block_size_mb, min_block_interval_s, round_timeout_s : float arrays (MB, s, s).
    round_timers : the space's round timers (``(None,)`` when it does not tune them);
        ``round_timer_index`` points into it.
    """

    indices: NDArray[np.int64]
    protocols: tuple[str, ...]
    protocol_index: NDArray[np.int64]
    max_block_size_mb: NDArray[np.float64]
    min_block_interval_s: NDArray[np.float64]
    round_timeout_s: NDArray[np.float64]
    round_timers: tuple[str | None, ...] = (None,)
    round_timer_index: NDArray[np.int64] | None = None  # None: all zeros

    def __len__(self) -> int:
        return int(self.indices.size)

    def _timer_index(self) -> list[int]:
        index = self.round_timer_index
        return [0] * len(self) if index is None else index.tolist()

    def __getitem__(self, i: int) -> Configuration:
        return Configuration(
            protocol=self.protocols[int(self.protocol_index[i])],
            max_block_size_mb=float(self.max_block_size_mb[i]),
            min_block_interval_s=float(self.min_block_interval_s[i]),
            round_timeout_s=float(self.round_timeout_s[i]),
            round_timer=self.round_timers[self._timer_index()[i]],
        )

    def __iter__(self) -> Iterator[Configuration]:
        columns = (self.max_block_size_mb, self.min_block_interval_s, self.round_timeout_s)
        timers = [self.round_timers[k] for k in self._timer_index()]
        return (
            Configuration(self.protocols[p], *values)
            for p, *values in zip(self.protocol_index.tolist(), *(c.tolist() for c in columns), timers,
                                  strict=True)
        )
