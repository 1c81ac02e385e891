"""Named scenario presets: the paper's experiment, its pure variants, changing conditions,
and larger chains.

``paper``, ``steady``, ``faulty`` and ``random`` are the experiment of
Diamantopoulos et al. (2023, section 4.3) with its 10 validators; ``load-swing``,
``bandwidth-drop``, ``churn`` and ``mixed`` change the load, the bandwidth and the
validators present at random times (:mod:`dtopt.consensus.changing`). The same names
with ``-31`` or ``-64`` appended run them with 31 or 64 validators (the BFT sizes
3f + 1 for f = 10 and about f = 21); the paper's variants keep the same share of
them faulty (a fifth). See :data:`SCENARIOS` and ``docs/chain.md``.

Units: seconds, MB, MB/s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
from numpy.typing import ArrayLike

from dtopt.consensus.changing import CHANGING_KINDS, changing_regimes
from dtopt.consensus.checks import check_names
from dtopt.consensus.limits import check_duration, check_seed
from dtopt.consensus.protocols import fault_tolerance
from dtopt.consensus.scenario import Regime, Scenario, random_propagation_s
from dtopt.errors import DtoptError

__all__ = [
    "DEFAULT_DURATION_S",
    "PRESET_KINDS",
    "PRESET_SIZES",
    "SCENARIOS",
    "check_fault_tolerant",
    "preset_scenario",
]

#: Default length of a preset's regime schedule when no duration is given (s).
DEFAULT_DURATION_S: Final = 1000.0
#: The experiment's variants and the changing conditions (see :func:`preset_scenario`).
PRESET_KINDS: Final = ("paper", "steady", "faulty", "random", *CHANGING_KINDS)
#: Validator counts of the presets; 10 is the paper's and carries no suffix.
PRESET_SIZES: Final = (10, 31, 64)
_PAPER_SIZE: Final = 10
#: Share of the validators that the faulty regimes take offline (2 of the paper's 10).
_FAULTY_SHARE: Final = 0.2

_STEADY_JITTER_S: Final = 0.01
_UNSTABLE_JITTER_S: Final = 0.1


def check_fault_tolerant(n_validators: int, what: str) -> None:
    """Refuse a chain of ``n_validators`` that tolerates no fault (f < 1, fewer than 4)."""
    if fault_tolerance(n_validators) < 1:
        raise DtoptError(
            f"{what} needs at least 4 validators (3f + 1 with f = 1) to tolerate a fault, "
            f"got {n_validators}"
        )


def preset_scenario(
    kind: str,
    duration_s: float = DEFAULT_DURATION_S,
    seed: int = 0,
    *,
    validators: int | Sequence[str] = _PAPER_SIZE,
    propagation_s: ArrayLike | None = None,
) -> Scenario:
    """The paper experiment (Diamantopoulos et al., 2023, section 4.3) and its variants.

    ``paper``: every TS = 100 s a new regime with bandwidth redrawn uniformly in
    [0.7, 2] MB/s; even regimes have everyone online on a steady network, odd ones
    the faulty producers (the last fifth: ``bp8, bp9`` of 10) offline on a jittery
    network. ``steady``: every regime like the paper's even ones; ``faulty``: every
    regime like its odd ones; ``random``: each regime like an odd one with
    probability 1/2 (seeded), so the outages follow no period (for twins that
    learn one). 50 tx/s throughout.

    ``load-swing``, ``bandwidth-drop``, ``churn`` and ``mixed``: conditions that change
    at random times (:func:`~dtopt.consensus.changing.changing_regimes`); no fixed
    faulty validators (``churn`` and ``mixed`` take any validator offline, at most f
    at once), a steady network (jitter 10 ms).

    Parameters
    ----------
    kind : one of :data:`PRESET_KINDS`.
    duration_s : how far the regime schedule reaches (s); the last regime then persists.
    seed : seeds the regimes' draws (bandwidths, outages, loads) and the default propagation.
    validators : their number (named ``bp0..``; 10 in the paper) or their names (at least 4).
    propagation_s : shape ``(M, M)`` propagation latencies between the validators (s);
        default :func:`~dtopt.consensus.random_propagation_s` drawn with ``seed``.
    """
    if kind not in PRESET_KINDS:
        raise DtoptError(f"unknown preset kind {kind!r}; choose one of {', '.join(PRESET_KINDS)}")
    duration_s, seed = check_duration(duration_s), check_seed(seed)
    if isinstance(validators, int | np.integer) and not isinstance(validators, bool):
        nodes = tuple(f"bp{i}" for i in range(int(validators)))
    else:
        nodes = check_names("preset", "validators", validators)
    check_fault_tolerant(len(nodes), "a preset")
    propagation = random_propagation_s(len(nodes), seed) if propagation_s is None else propagation_s
    if kind in CHANGING_KINDS:
        return Scenario(nodes=nodes, producers=nodes, faulty=(), propagation_s=propagation,
                        regimes=changing_regimes(kind, duration_s, seed, nodes),
                        state_period_s=100.0, twin_interval_s=25.0)
    faulty = nodes[len(nodes) - round(_FAULTY_SHARE * len(nodes)):]
    period_s = 100.0
    rng = np.random.default_rng([seed, 0xB10C])
    coin = np.random.default_rng([seed, 0xC011])
    n_regimes = max(1, math.ceil(duration_s / period_s))
    regimes = []
    for k in range(n_regimes):
        bandwidth = tuple(float(b) for b in rng.uniform(0.7, 2.0, len(nodes)))
        down = {"paper": k % 2 == 1, "steady": False, "faulty": True}.get(kind)
        if down is None:  # "random": its own stream, so the bandwidths stay the paper's
            down = bool(coin.random() < 0.5)
        regimes.append(
            Regime(
                start_s=k * period_s,
                offline=faulty if down else (),
                bandwidth_mbps=bandwidth,
                tx_rate_per_s=50.0,
                jitter_s=_UNSTABLE_JITTER_S if down else _STEADY_JITTER_S,
            )
        )
    return Scenario(
        nodes=nodes,
        producers=nodes,
        faulty=faulty,
        regimes=tuple(regimes),
        propagation_s=propagation,
        state_period_s=period_s,
        twin_interval_s=25.0,
    )


#: Named presets for :func:`~dtopt.consensus.load_scenario` (``preset(duration_s, seed) ->
#: Scenario``): every kind of :data:`PRESET_KINDS` at 10 validators, then the same with
#: ``-31`` and ``-64``.
SCENARIOS: Final[dict[str, Callable[[float, int], Scenario]]] = {
    kind + ("" if n == _PAPER_SIZE else f"-{n}"): (
        lambda duration_s, seed, _kind=kind, _n=n: preset_scenario(_kind, duration_s, seed, validators=_n)
    )
    for n in PRESET_SIZES
    for kind in PRESET_KINDS
}
