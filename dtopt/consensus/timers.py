"""The round timer's rule, stated once: how long round r of a height waits, and its inverse.

:meth:`ChainConfig.round_timer_s <dtopt.consensus.config.ChainConfig.round_timer_s>` applies it
to a configuration; the twin's analysis reads it backwards (:func:`rounds_timed_out`).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

__all__ = ["MAX_ROUND_TIMER_DOUBLINGS", "ROUND_TIMERS", "doubled", "rounds_timed_out"]

#: The round timer: ``"doubling"`` (IBFT 2.0: round r waits the round timeout x 2^r, default)
#: or ``"fixed"`` (every round waits the round timeout, as the seed experiment's simulator).
ROUND_TIMERS: Final = ("doubling", "fixed")

#: The doubling timer's cap: round r waits ``round_timeout_s * 2 ** min(r, 3)``, at most 8
#: round timeouts (80 s at the paper's 10 s). A round 8 times too slow for its timeout is a
#: misconfiguration that longer waits no longer rescue, while every run of consecutive offline
#: proposers (each a round) pays the timers in full, and a chain without a quorum waits this
#: long once the quorum is back.
MAX_ROUND_TIMER_DOUBLINGS: Final = 3


def rounds_timed_out(elapsed_s: float, round_timeout_s: float, round_timer: str, limit: int) -> int:
    """How many consecutive rounds of one height, the first started ``elapsed_s`` ago and each
    started when the previous one timed out, have timed out by now (at most ``limit``).

    The round timer's rule (:meth:`ChainConfig.round_timer_s`) read backwards: under the
    fixed timer ``elapsed_s // round_timeout_s``, under the doubling timer fewer.
    """
    if round_timer == "fixed":
        return min(int(elapsed_s // round_timeout_s), limit)
    rounds, end_s = 0, 0.0
    while rounds < limit:
        end_s += round_timeout_s * doubled(rounds, MAX_ROUND_TIMER_DOUBLINGS)
        if end_s > elapsed_s:
            break
        rounds += 1
    return rounds


def doubled(round_: Any, cap: Any) -> Any:
    """The doubling timer's factor of round ``round_``: ``2^min(round, cap)``."""
    if isinstance(round_, np.ndarray) or isinstance(cap, np.ndarray):
        return np.exp2(np.minimum(round_, cap))
    return 2.0 ** min(round_, cap)
