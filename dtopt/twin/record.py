"""What the twin did at one call: :class:`TwinRecord`, the row of its decision log."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dtopt.twin.config_search import Configuration, ConfigurationEstimate

__all__ = ["TwinRecord"]


@dataclass(frozen=True)
class TwinRecord:
    """What the twin did at one call.

    Attributes
    ----------
    t_s : chain time of the call (end of the analysed interval).
    in_force : protocol in force at the chain head when called.
    chosen : protocol the twin wants for the next interval.
    switched : whether it asked for a switch.
    producer : the trusted producer asked to carry the switch, if any.
    basis : the what-if scenarios the decision was taken on, with their probability
        (``{"as-estimated": 1.0}`` for a reactive decision).
    offline : validators inferred offline.
    criterion : what the decision ranked (``"wait"`` or ``"latency"``, see :class:`Decider`);
        ``None`` for a skipped interval.
    predicted_score_s : the ranked prediction per protocol (s): the mean wait per
        transaction over the next interval for ``"wait"``; the protocol chosen has the
        lowest one unless hysteresis kept the one in force.
    predicted_latency_s : predicted mean transaction latency per protocol (s).
    what_if_latency_s : the same for every what-if scenario planned.
    error : why the interval was skipped (bad data), else ``None``.
    in_force_config : with a configuration space, the configuration in force (read
        from the blocks); else ``None``.
    chosen_estimate : with a configuration space, the configuration chosen with its
        predicted latency (the ranked ``criterion``) and throughput; else ``None``.
    changes : what ``request_config`` was asked to change (chain configuration names).
    pareto : the decision's Pareto set, latency vs throughput, by predicted latency.
    """

    t_s: float
    in_force: str
    chosen: str
    switched: bool
    producer: str | None = None
    basis: dict[str, float] = field(default_factory=dict)
    offline: tuple[str, ...] = ()
    criterion: str | None = None
    predicted_score_s: dict[str, float] = field(default_factory=dict)
    predicted_latency_s: dict[str, float] = field(default_factory=dict)
    what_if_latency_s: dict[str, dict[str, float]] = field(default_factory=dict)
    error: str | None = None
    in_force_config: Configuration | None = None
    chosen_estimate: ConfigurationEstimate | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    pareto: tuple[ConfigurationEstimate, ...] = ()

    @property
    def chosen_config(self) -> Configuration | None:
        """The configuration chosen (with a configuration space), else ``None``."""
        return None if self.chosen_estimate is None else self.chosen_estimate.configuration

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python values (an infinite prediction, i.e. nothing committed, as ``None``)."""
        out = dict(self.__dict__)
        out["offline"] = list(self.offline)
        for key in ("in_force_config", "chosen_estimate"):
            out[key] = None if out[key] is None else out[key].to_dict()
        out["changes"] = dict(self.changes)
        out["pareto"] = [e.to_dict() for e in self.pareto]
        out["basis"] = dict(self.basis)
        out["predicted_score_s"] = _finite(self.predicted_score_s)
        out["predicted_latency_s"] = _finite(self.predicted_latency_s)
        out["what_if_latency_s"] = {k: _finite(v) for k, v in self.what_if_latency_s.items()}
        return out

    def to_json(self, **kwargs: Any) -> str:
        """:meth:`to_dict` as a JSON object (strict JSON)."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    return {k: (v if np.isfinite(v) else None) for k, v in values.items()}
