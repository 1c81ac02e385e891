"""Presets whose conditions change: load swings, bandwidth drops, validator churn, all three.

The paper's experiment (:mod:`dtopt.consensus.presets`) changes only which validators
are online, at fixed 100 s steps. These presets change what decides the best
configuration of a chain: the arrival rate (block size), the network's bandwidth
(block size and round timeout) and the validators present (protocol and round
timeout), at random, seeded times.

Each preset is built from three independent *tracks*, piecewise constant in time
and each drawn from its own seeded stream (so, e.g., ``mixed`` has exactly the load
of ``load-swing`` for the same seed):

* load: ``load-swing`` draws regimes of uniform length in [50, 200] s, each with an
  arrival rate log-uniform in [5, 150] tx/s; otherwise a constant rate;
* bandwidth: ``bandwidth-drop`` alternates normal periods (uniform in [100, 300] s,
  every validator's bandwidth uniform in [1, 2] MB/s) with drops (uniform in
  [30, 120] s, every validator's bandwidth uniform in [0.1, 0.3] MB/s); otherwise
  every validator's bandwidth is redrawn uniformly in [1, 2] MB/s every 100 s;
* membership: ``churn`` lets validators leave at the times of a Poisson process
  (mean gap ``220 / f`` s) and return after a time uniform in [20, 200] s; the one
  that leaves is any validator online then (uniformly), so it may be the proposer
  of the round in progress; a departure that would take more than f validators
  offline is skipped; otherwise everyone stays online.

The scenario's regimes start wherever a track changes. Units: seconds, MB, MB/s, tx/s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from dtopt.consensus.protocols import fault_tolerance
from dtopt.consensus.scenario import Regime

__all__ = ["CHANGING_KINDS", "changing_regimes"]

#: The presets of this module: which tracks change in each.
CHANGING_KINDS: Final = {
    "load-swing": ("load",),
    "bandwidth-drop": ("bandwidth",),
    "churn": ("membership",),
    "mixed": ("load", "bandwidth", "membership"),
}

#: Arrival rate where the load does not swing (tx/s): the paper's 50 tx/s, but 25 tx/s
#: under bandwidth drops, where 0.1-0.3 MB/s then sits at the edge of what a chain can
#: carry, so the block size and round timeout decide whether it keeps up.
STEADY_RATE_TPS: Final = {"churn": 50.0, "bandwidth-drop": 25.0}
LOAD_RATE_TPS: Final = (5.0, 150.0)  # log-uniform
LOAD_REGIME_S: Final = (50.0, 200.0)
NORMAL_BANDWIDTH_MBPS: Final = (1.0, 2.0)
DROP_BANDWIDTH_MBPS: Final = (0.1, 0.3)
NORMAL_PERIOD_S: Final = (100.0, 300.0)
DROP_PERIOD_S: Final = (30.0, 120.0)
BANDWIDTH_REDRAW_S: Final = 100.0
CHURN_GAP_PER_F_S: Final = 220.0  # mean time between departures x f (so about f / 2 are away)
CHURN_AWAY_S: Final = (20.0, 200.0)
JITTER_S: Final = 0.01


def _load(rng: np.random.Generator, duration_s: float) -> list[tuple[float, float]]:
    """``(start_s, tx_rate_per_s)`` changes of a swinging load up to ``duration_s``."""
    out, t = [], 0.0
    low, high = np.log(LOAD_RATE_TPS)
    while t < duration_s:
        out.append((t, float(np.exp(rng.uniform(low, high)))))
        t += float(rng.uniform(*LOAD_REGIME_S))
    return out


def _bandwidth(rng: np.random.Generator, duration_s: float, n: int, drops: bool) -> list[tuple[float, tuple]]:
    """``(start_s, bandwidths)`` changes: periodic redraws, or normal periods and drops."""
    out, t, dropped = [], 0.0, False
    while t < duration_s:
        bounds = DROP_BANDWIDTH_MBPS if dropped else NORMAL_BANDWIDTH_MBPS
        out.append((t, tuple(float(b) for b in rng.uniform(*bounds, n))))
        if drops:
            t += float(rng.uniform(*(DROP_PERIOD_S if dropped else NORMAL_PERIOD_S)))
            dropped = not dropped
        else:
            t += BANDWIDTH_REDRAW_S
    return out


def _membership(
    rng: np.random.Generator, duration_s: float, nodes: Sequence[str]
) -> list[tuple[float, tuple]]:
    """``(start_s, offline)`` changes of validators leaving and returning (at most f away)."""
    f = fault_tolerance(len(nodes))
    back_at: dict[int, float] = {}  # away validator -> return time
    events: list[tuple[float, tuple]] = [(0.0, ())]
    t = 0.0
    while True:
        t += float(rng.exponential(CHURN_GAP_PER_F_S / f))
        away_s = float(rng.uniform(*CHURN_AWAY_S))
        pick = rng.random()  # drawn every time, so a skipped departure shifts no later draw
        for i, back in sorted(back_at.items(), key=lambda item: item[1]):
            if back <= t:  # returns before this departure
                del back_at[i]
                events.append((back, _names(nodes, back_at)))
        if t >= duration_s:
            return [e for e in events if e[0] < duration_s]
        if len(back_at) < f:
            online = [i for i in range(len(nodes)) if i not in back_at]
            back_at[online[int(pick * len(online))]] = t + away_s
            events.append((t, _names(nodes, back_at)))


def _names(nodes: Sequence[str], away: dict[int, float]) -> tuple[str, ...]:
    return tuple(nodes[i] for i in sorted(away))


def _value_at(track: list[tuple[float, object]], t_s: float) -> object:
    starts = [start for start, _ in track]
    return track[int(np.searchsorted(starts, t_s, side="right")) - 1][1]


def changing_regimes(kind: str, duration_s: float, seed: int, nodes: Sequence[str]) -> tuple[Regime, ...]:
    """The regimes of preset ``kind`` (a key of :data:`CHANGING_KINDS`) up to ``duration_s``.

    ``nodes`` are the validators (every node is one). Seeded: the same arguments give
    the same regimes; each track draws from its own stream of ``seed``.
    """
    tracks = CHANGING_KINDS[kind]
    n = len(nodes)
    load = (
        _load(np.random.default_rng([seed, 0x10AD]), duration_s)
        if "load" in tracks
        else [(0.0, STEADY_RATE_TPS[kind])]
    )
    bandwidth = _bandwidth(np.random.default_rng([seed, 0xBA2D]), duration_s, n, "bandwidth" in tracks)
    membership = (
        _membership(np.random.default_rng([seed, 0xC4A2]), duration_s, nodes)
        if "membership" in tracks
        else [(0.0, ())]
    )
    starts = sorted({start for track in (load, bandwidth, membership) for start, _ in track})
    return tuple(
        Regime(
            start_s=t,
            offline=_value_at(membership, t),  # type: ignore[arg-type]
            bandwidth_mbps=_value_at(bandwidth, t),  # type: ignore[arg-type]
            tx_rate_per_s=_value_at(load, t),  # type: ignore[arg-type]
            jitter_s=JITTER_S,
        )
        for t in starts
    )
