"""Limits on the size of a consensus run, checked where a parameter enters and before
anything is allocated.

Every option that sizes memory or work (the run's duration, the transaction rate
over it, the number of nodes, the twin's interval count and the oracle's replicas)
has a limit here. A request beyond one is refused with a one-line
:class:`~dtopt.errors.DtoptError` that names the limit, instead of filling the
machine's memory or running for days. Seeds are validated here too, since every
consensus entry point takes one.

The limits are generous for the experiments dtopt reproduces (the paper preset
runs 2000 s of 10 validators at 50 tx/s, about 100,000 transactions and 550
blocks).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from dtopt.errors import DtoptError

if TYPE_CHECKING:
    from dtopt.consensus.scenario import Scenario

__all__ = [
    "MAX_BLOCKS",
    "MAX_DURATION_S",
    "MAX_NODES",
    "MAX_ORACLE_ARRIVALS",
    "MAX_ORACLE_CELLS",
    "MAX_SEED",
    "MAX_TWIN_INTERVALS",
    "MAX_TX",
    "check_duration",
    "check_oracle_arrivals",
    "check_oracle_size",
    "check_run_size",
    "check_seed",
]

#: Longest run of chain time (s): 11.6 days; a preset holds one regime per 100 s.
MAX_DURATION_S: Final = 1_000_000.0
#: Most transactions a run may be expected to generate (arrival times are stored:
#: 8 bytes each in the pool, twice more in the blocks and views, about 0.3 GB).
MAX_TX: Final = 10_000_000
#: Most blocks a run can commit at its fastest, ``duration_s / max(min_block_interval_s,
#: costs.create_block_s)`` (a block record with its votes takes a few KB).
MAX_BLOCKS: Final = 200_000
#: Most nodes in a scenario (every message is an event; a block costs O(nodes^2) of them).
MAX_NODES: Final = 1_000
#: Most twin intervals in a twin-managed run (one MAPE-K iteration each).
MAX_TWIN_INTERVALS: Final = 100_000
#: Largest oracle array per state, replicas x validators^2 float32 vote times (about
#: 20 bytes per cell with the jitter pool: 0.34 GB).
MAX_ORACLE_CELLS: Final = 2**24
#: Most transaction arrival times the oracle's batched sampling pre-draws (replicas x expected
#: arrivals in the horizon, float64: 0.27 GB).
MAX_ORACLE_ARRIVALS: Final = 2**25
#: Seeds are integers in [0, MAX_SEED] (numpy's generators take non-negative ones).
MAX_SEED: Final = 2**63 - 1


def check_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` as an int in ``[0, MAX_SEED]``, else a one-line DtoptError."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise DtoptError(f"{name} must be an integer >= 0, got {seed!r}")
    if not 0 <= seed <= MAX_SEED:
        raise DtoptError(f"{name} must be an integer in [0, 2**63 - 1], got {seed!r}")
    return int(seed)


def check_duration(duration_s: Any, name: str = "duration_s") -> float:
    """``duration_s`` as a float in ``(0, MAX_DURATION_S]``, else a one-line DtoptError."""
    if isinstance(duration_s, bool) or not isinstance(duration_s, int | float | np.integer | np.floating):
        raise DtoptError(f"{name} must be a number of seconds, got {duration_s!r}")
    value = float(duration_s)
    if not math.isfinite(value) or value <= 0:
        raise DtoptError(f"{name} must be a finite number > 0, got {duration_s!r}")
    if value > MAX_DURATION_S:
        raise DtoptError(f"{name} {value:g} s exceeds the limit of {MAX_DURATION_S:g} s of chain time")
    return value


def check_run_size(scenario: Scenario, until_s: float, *, twin: bool = False) -> None:
    """Refuse a run of ``scenario`` up to ``until_s`` that would exceed a limit.

    Checked before the chain generates transactions or events up to ``until_s``:
    the expected number of arrivals (the regimes' rates over their spans), the
    most blocks that can commit, and with ``twin`` the number of twin intervals.
    """
    until_s = check_duration(until_s, "run length")
    starts = np.array([r.start_s for r in scenario.regimes])
    ends = np.append(starts[1:], np.inf)
    spans = np.clip(np.minimum(ends, until_s) - starts, 0.0, None)
    expected_tx = float(np.dot([r.tx_rate_per_s for r in scenario.regimes], spans))
    if expected_tx > MAX_TX:
        raise DtoptError(
            f"a run of {until_s:g} s at these transaction rates generates about {expected_tx:.3g} "
            f"transactions, over the limit of {MAX_TX:,}; shorten the run or lower tx_rate_per_s"
        )
    floor_s = max(scenario.min_block_interval_s, scenario.costs.create_block_s)
    if floor_s <= 0:
        raise DtoptError(
            "scenario: min_block_interval_s and costs.create_block_s are both 0, so blocks could "
            "take no time at all; set one of them > 0"
        )
    if until_s / floor_s > MAX_BLOCKS:
        raise DtoptError(
            f"a run of {until_s:g} s may commit up to {until_s / floor_s:.3g} blocks (one per "
            f"{floor_s:g} s, max(min_block_interval_s, costs.create_block_s)), over the limit of "
            f"{MAX_BLOCKS:,}; shorten the run"
        )
    if twin and until_s / scenario.twin_interval_s > MAX_TWIN_INTERVALS:
        raise DtoptError(
            f"a run of {until_s:g} s has {until_s / scenario.twin_interval_s:.3g} twin intervals of "
            f"{scenario.twin_interval_s:g} s, over the limit of {MAX_TWIN_INTERVALS:,}"
        )


def check_oracle_size(n_validators: int, replicas: int) -> None:
    """Refuse ``replicas`` whose per-state vote arrays would exceed :data:`MAX_ORACLE_CELLS`."""
    cells = int(replicas) * int(n_validators) ** 2
    if cells > MAX_ORACLE_CELLS:
        most = max(MAX_ORACLE_CELLS // max(int(n_validators) ** 2, 1), 1)
        raise DtoptError(
            f"replicas {replicas} is over the limit for {n_validators} validators: at most {most:,} "
            f"(replicas x validators^2 <= {MAX_ORACLE_CELLS:,} vote times per state)"
        )


def check_oracle_arrivals(replicas: int, expected_arrivals: float) -> None:
    """Refuse pre-drawing ``expected_arrivals`` arrival times for each of ``replicas`` replicas
    beyond :data:`MAX_ORACLE_ARRIVALS`."""
    total = int(replicas) * float(expected_arrivals)
    if total > MAX_ORACLE_ARRIVALS:
        raise DtoptError(
            f"{replicas} replicas of about {expected_arrivals:.3g} arrivals each exceed the limit of "
            f"{MAX_ORACLE_ARRIVALS:,} pre-drawn arrival times; lower the replicas, the horizon or the rate"
        )
