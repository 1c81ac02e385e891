"""What a configuration decision returns: the chosen configuration, the estimates behind it
and what the search spent (:class:`~dtopt.twin.config_search.search.ConfigurationDecider`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dtopt.twin.config_search.configuration import Configuration

__all__ = ["ConfigurationDecision", "ConfigurationEstimate"]


@dataclass(frozen=True)
class ConfigurationEstimate:
    """What the evaluations say about one configuration.

    Attributes
    ----------
    configuration : the configuration.
    replicas : samples it received.
    mean_latency_s, std_latency_s : predicted mean latency (s) and the samples' standard deviation.
    mean_throughput_tps, std_throughput_tps : predicted throughput (tx/s), likewise.
    meets_rate : whether it reaches the required rate (within ``z`` standard errors).
    """

    configuration: Configuration
    replicas: int
    mean_latency_s: float
    std_latency_s: float
    mean_throughput_tps: float
    std_throughput_tps: float
    meets_rate: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.configuration.to_dict(), "replicas": self.replicas,
            "mean_latency_s": self.mean_latency_s, "std_latency_s": self.std_latency_s,
            "mean_throughput_tps": self.mean_throughput_tps, "std_throughput_tps": self.std_throughput_tps,
            "meets_rate": self.meets_rate,
        }


@dataclass(frozen=True)
class ConfigurationDecision:
    """One decision over a configuration space.

    Attributes
    ----------
    chosen : the estimate of the configuration chosen (``chosen.configuration``).
    method : ``"exhaustive"`` or ``"halving"``.
    arrival_rate_tps : the arrival rate the decision was asked to carry (tx/s).
    required_throughput_tps : the rate a configuration had to reach (tx/s).
    replicas_used : replica-evaluations spent (sum over configurations).
    exhaustive_replicas : what the exhaustive search spends: ``len(space) * replicas``.
    calls : calls made to ``evaluate``.
    estimates : every configuration evaluated, in enumeration order (with halving,
        eliminated ones keep the estimate they had when eliminated).
    pareto : the non-dominated estimates (latency vs throughput), by latency.
    incumbent : the estimate of the configuration in force, if one was given.
    gain_s, gain_se_s : the chosen configuration's paired predicted latency gain over
        the incumbent (s) and its standard error (0 when it is the incumbent or none was given).
    """

    chosen: ConfigurationEstimate
    method: str
    arrival_rate_tps: float
    required_throughput_tps: float
    replicas_used: int
    exhaustive_replicas: int
    calls: int
    estimates: tuple[ConfigurationEstimate, ...]
    pareto: tuple[ConfigurationEstimate, ...]
    incumbent: ConfigurationEstimate | None = None
    gain_s: float = 0.0
    gain_se_s: float = 0.0

    @property
    def configuration(self) -> Configuration:
        return self.chosen.configuration

    @property
    def budget_fraction(self) -> float:
        """Replicas used as a fraction of the exhaustive budget."""
        return self.replicas_used / self.exhaustive_replicas

    def to_dict(self) -> dict[str, Any]:
        return {
            "configuration": self.configuration.to_dict(), "method": self.method,
            "arrival_rate_tps": self.arrival_rate_tps,
            "required_throughput_tps": self.required_throughput_tps,
            "meets_rate": self.chosen.meets_rate,
            "predicted_latency_s": self.chosen.mean_latency_s,
            "predicted_throughput_tps": self.chosen.mean_throughput_tps,
            "replicas_used": self.replicas_used, "exhaustive_replicas": self.exhaustive_replicas,
            "budget_fraction": self.budget_fraction, "calls": self.calls,
            "estimates": [e.to_dict() for e in self.estimates],
            "pareto": [e.to_dict() for e in self.pareto],
            "incumbent": None if self.incumbent is None else self.incumbent.to_dict(),
            "gain_s": self.gain_s, "gain_se_s": self.gain_se_s,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
