"""Scenario generator: what-if variants of the twin's estimate.

The plan step asks the oracle about each of them, so the twin knows not only
which protocol is best as things stand but how the choice would fare if the
state changed:

* ``as-estimated``: the estimate itself;
* ``recovered``: every validator inferred offline comes back online;
* ``dropout``: the slowest online validator (largest PREPARE delay) drops out,
  if a quorum would remain;
* ``forecast:<names>``: a predicted offline set (from :mod:`dtopt.twin.anticipate`;
  ``forecast:`` alone: everyone online), kept even if it equals another variant.

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

__all__ = ["AS_ESTIMATED", "DROPOUT", "FORECAST", "WhatIf", "what_if_scenarios"]

AS_ESTIMATED = "as-estimated"
DROPOUT = "dropout"
FORECAST = "forecast:"


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
    forecast_offline: Sequence[Sequence[str]] = (),
) -> tuple[WhatIf, ...]:
    """The what-if scenarios for ``estimate``, ``as-estimated`` first.

    Parameters
    ----------
    estimate : the analysed state.
    validators : validator names in the chain's order (for ``forecast_offline``).
    dropout, recovered : include those variants.
    forecast_offline : predicted offline sets; a ``forecast:`` variant for each.
    """
    base = estimate.state
    names = np.asarray(validators)
    candidates = [WhatIf(AS_ESTIMATED, base)]
    for offline in forecast_offline:
        online = ~np.isin(names, list(offline))
        candidates.append(WhatIf(FORECAST + ",".join(offline), _with_online(base, online)))
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
        elif candidate.name.startswith(FORECAST):
            # a forecast equal to an existing variant still names one to decide on
            unique.append(candidate)
    return tuple(unique)
