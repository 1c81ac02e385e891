"""Scenario generator: what-if variants of the twin's estimate.

The plan step asks the oracle about each of them, so the twin knows not only
which protocol is best as things stand but how the choice would fare if the
state changed:

* ``as-estimated``: the estimate itself;
* ``recovered``: every validator inferred offline comes back online;
* ``dropout``: the slowest online validator (largest PREPARE delay) drops out,
  if a quorum would remain;
* ``forecast``: a predicted offline set (from :mod:`dtopt.twin.anticipate`);
* ``seen:<names>``: an offline set observed earlier in the run (``seen:`` alone:
  everyone online), the candidates for the chain's next state when a change is
  due (robust anticipation).

Validators without a bandwidth measurement keep the estimate's values; a
variant identical to an earlier one (same online set) is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dtopt.consensus.protocols import quorum_size
from dtopt.twin.analyse import Estimate
from dtopt.twin.oracle import OracleState

__all__ = ["AS_ESTIMATED", "DROPOUT", "FORECAST", "SEEN", "WhatIf", "what_if_scenarios"]

AS_ESTIMATED = "as-estimated"
DROPOUT = "dropout"
FORECAST = "forecast"
SEEN = "seen:"


@dataclass(frozen=True, eq=False)
class WhatIf:
    """One named what-if state for the oracle."""

    name: str
    state: OracleState


def _with_online(state: OracleState, online: np.ndarray) -> OracleState:
    return state.with_(online=online)


def what_if_scenarios(
    estimate: Estimate,
    validators: Sequence[str],
    *,
    dropout: bool = True,
    recovered: bool = True,
    forecast_offline: Sequence[str] | None = None,
    seen_offline: Sequence[Sequence[str]] = (),
) -> tuple[WhatIf, ...]:
    """The what-if scenarios for ``estimate``, ``as-estimated`` first.

    Parameters
    ----------
    estimate : the analysed state.
    validators : validator names in the chain's order (for ``forecast_offline``).
    dropout, recovered : include those variants.
    forecast_offline : if given, add a ``forecast`` variant with exactly these validators offline.
    seen_offline : offline sets observed earlier; a ``seen:`` variant for each.
    """
    base = estimate.state
    names = np.asarray(validators)
    candidates = [WhatIf(AS_ESTIMATED, base)]
    if forecast_offline is not None:
        candidates.append(WhatIf(FORECAST, _with_online(base, ~np.isin(names, list(forecast_offline)))))
    for offline in seen_offline:
        online = ~np.isin(names, list(offline))
        if online.sum() >= quorum_size(online.size):  # a set that stalls the chain is no candidate
            candidates.append(WhatIf(SEEN + ",".join(offline), _with_online(base, online)))
    if recovered and not base.online.all():
        candidates.append(WhatIf("recovered", _with_online(base, np.ones_like(base.online))))
    if dropout and base.online.sum() > quorum_size(base.online.size):
        delay = np.where(base.online, np.nan_to_num(estimate.delay_s, nan=-np.inf), -np.inf)
        online = base.online.copy()
        online[int(np.argmax(delay))] = False
        candidates.append(WhatIf(DROPOUT, _with_online(base, online)))
    unique: list[WhatIf] = []
    for candidate in candidates:
        if all(not np.array_equal(candidate.state.online, u.state.online) for u in unique):
            unique.append(candidate)
        elif candidate.name == FORECAST:
            # a forecast equal to an existing variant still names the one to decide on
            unique.append(candidate)
    return tuple(unique)
