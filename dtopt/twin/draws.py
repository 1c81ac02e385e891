"""Where the round loop's randomness comes from, per round and phase.

The round loop (:mod:`dtopt.twin.rounds`) draws three things: its pools of
unit-mean network jitter (once, see ``RoundLoop._draw_pools``), the offset of
the jitter window each phase reads (see ``RoundLoop.window``), and the
transactions that arrive before each proposal. Two sources:

* :class:`SequentialDraws`: one generator consumed in call order, a window
  offset per phase that runs and Poisson counts per round. The predictions'
  stream (:meth:`RoundOracle.predict`): cheap, but a column's draws depend on
  what the other columns did (a phase runs if any column needs it).
* :class:`CommonDraws`: common random numbers. The jitter pools are drawn once
  per shape and shared by every loop that asks, window offsets are indexed by
  (round step, phase slot), and every replica owns a Poisson arrival stream
  (exponential gaps, drawn once) that its columns count from. A column's draws
  then depend only on the seed, its state and its replica index: every
  configuration simulated with one :class:`CommonDraws` (one round loop per
  protocol) sees the same arrivals and jitter, and a configuration gives the
  same samples whatever else is simulated with it.

Units: seconds, transactions per second.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.limits import check_oracle_arrivals
from dtopt.consensus.protocols import draw_jitter_s

__all__ = ["SLOTS", "CommonDraws", "SequentialDraws"]

#: The phases that read a jitter window, in a round: PRE-PREPARE, PREPARE votes, COMMIT votes,
#: ROUND-CHANGE timers, ROUND-CHANGEs at the next proposer.
SLOTS: Final = ("pre_prepare", "prepare", "commit", "timer", "next")
_SLOT: Final = {name: i for i, name in enumerate(SLOTS)}

# Window offsets are drawn (as uniform fractions of the window count) in chunks of this many steps.
_CHUNK: Final = 64


class SequentialDraws:
    """One generator consumed in call order (see the module docstring)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def unit_jitter(self, shape: tuple[int, ...]) -> NDArray[np.float32]:
        """Unit-mean jitter draws of ``shape`` (float32)."""
        return draw_jitter_s(self.rng, 1.0, shape, np.float32)

    def offset(self, step: int, slot: str, shifts: int) -> int:
        """A window offset in ``[0, shifts)``."""
        return int(self.rng.integers(shifts))

    def arrivals(self, rate_per_s: NDArray, stream: NDArray, since_s: NDArray, dt_s: NDArray
                 ) -> NDArray[np.int64]:
        """Transactions arriving in ``[since_s, since_s + dt_s)`` per column, shape ``(B,)``
        (Poisson with mean ``rate_per_s * dt_s``; ``stream`` unused)."""
        return self.rng.poisson(rate_per_s * dt_s)


class CommonDraws:
    """Common random numbers over configurations (see the module docstring).

    Parameters
    ----------
    seed : seed of the offsets and the arrival streams.
    rate_per_s : arrival rate of each state, shape ``(S,)`` (tx/s).
    replicas : replicas ``R`` per state: ``S * R`` arrival streams, ``s * R + r`` for replica
        ``r`` of state ``s``.
    horizon_s : arrivals are needed before this time (s).
    """

    def __init__(self, seed: int, rate_per_s: NDArray, replicas: int, horizon_s: float) -> None:
        offsets_seed, arrivals_seed, jitter_seed = np.random.SeedSequence(seed).spawn(3)
        self._offset_rng = np.random.default_rng(offsets_seed)
        self._jitter_rng = np.random.default_rng(jitter_seed)
        self._jitter: dict[tuple[int, ...], NDArray[np.float32]] = {}
        self._offsets = np.empty((0, len(SLOTS)))
        rate = np.repeat(np.asarray(rate_per_s, dtype=float), replicas)  # (S * R,)
        self.streams = rate.size
        self.horizon_s = float(horizon_s)
        self._span = self.horizon_s + 1.0  # stream k's times live in [k * span, k * span + horizon]
        self._flat = self._arrival_times(np.random.default_rng(arrivals_seed), rate)

    def _arrival_times(self, rng: np.random.Generator, rate: NDArray) -> NDArray[np.float64]:
        """Every stream's arrival times before the horizon (capped at it), offset per stream and
        flattened into one sorted array."""
        expected = float(rate.max(initial=0.0)) * self.horizon_s
        width = math.ceil(expected + 6.0 * math.sqrt(expected) + 10.0)
        check_oracle_arrivals(rate.size, width)
        with np.errstate(divide="ignore"):
            inverse = np.where(rate > 0, 1.0 / np.where(rate > 0, rate, 1.0), np.inf)[:, None]
        times = np.cumsum(rng.standard_exponential((rate.size, width)), axis=1) * inverse
        while np.any(times[:, -1] < self.horizon_s):  # a stream ran short (rare): extend them all
            more = np.cumsum(rng.standard_exponential((rate.size, width)), axis=1) * inverse
            times = np.concatenate([times, times[:, -1:] + more], axis=1)
        self._width = times.shape[1]
        times = np.minimum(times, self.horizon_s)
        times += (np.arange(rate.size) * self._span)[:, None]
        return times.ravel()

    def unit_jitter(self, shape: tuple[int, ...]) -> NDArray[np.float32]:
        """Unit-mean jitter draws of ``shape`` (float32), the same array for every loop that asks
        (read-only); shapes are drawn in the order first asked for."""
        if shape not in self._jitter:
            draws = draw_jitter_s(self._jitter_rng, 1.0, shape, np.float32)
            draws.setflags(write=False)
            self._jitter[shape] = draws
        return self._jitter[shape]

    def offset(self, step: int, slot: str, shifts: int) -> int:
        """The window offset of ``slot`` in round step ``step``, in ``[0, shifts)``."""
        while step >= len(self._offsets):
            chunk = self._offset_rng.random((_CHUNK, len(SLOTS)))
            self._offsets = np.concatenate([self._offsets, chunk])
        return int(self._offsets[step, _SLOT[slot]] * shifts)

    def arrivals(self, rate_per_s: NDArray, stream: NDArray, since_s: NDArray, dt_s: NDArray
                 ) -> NDArray[np.int64]:
        """Arrivals of each column's ``stream`` in ``[since_s, since_s + dt_s)``, shape ``(B,)``
        (``rate_per_s`` is the streams'); times must be before the horizon."""
        base = stream * self._span
        counts = np.searchsorted(self._flat, np.concatenate([base + since_s, base + since_s + dt_s]))
        half = since_s.size
        return counts[half:] - counts[:half]
