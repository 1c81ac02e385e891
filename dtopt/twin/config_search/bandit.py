"""A model-free online learner over the configurations: a baseline for the model-based twin.

It sees only what the chain does under the configuration it chose (one
observed mean latency and throughput per interval) and learns which
configuration is best by trying them, as a multi-armed bandit whose arms are the
space's configurations, in the spirit of learned BFT-protocol switching (Wu et
al., "BFTBrain: Adaptive BFT Consensus with Reinforcement Learning", NSDI 2025).
Unlike the twin it has no model to ask "what if"; every lesson costs an interval
of the real chain.

Each arm keeps the running mean of its observed latency and throughput. An
arm's cost is ``latency + penalty_s * shortfall``, where the shortfall
``max(0, 1 - throughput / required)`` is the relative amount by which the
throughput misses the required rate ``(1 - throughput_slack) * arrival rate``
(a Lagrangian penalty for the throughput constraint, taken on the arm's means,
so that noise around the rate in single intervals does not bias arms that keep
up). Two policies choose the next arm, after every arm has been tried once (in
a seeded random order):

* ``"ucb"`` (UCB1, Auer, Cesa-Bianchi and Fischer, "Finite-time analysis of the
  multiarmed bandit problem", 2002): the lowest optimistic cost, latency less
  and throughput plus ``exploration * scale * sqrt(2 ln t / n)``, where
  ``scale`` is the pooled within-arm standard deviation of that metric (UCB1
  assumes rewards in [0, 1]; this puts the bonus in the metric's units);
* ``"thompson"`` (Gaussian Thompson sampling): the lowest cost of a draw from
  each arm's posterior of its mean latency and throughput,
  ``mean + scale / sqrt(n) * N(0, 1)``.

With ``discount < 1`` every observation's weight is multiplied by ``discount``
at each later update (discounted UCB, Garivier and Moulines, "On upper-confidence
bound policies for switching bandit problems", 2011; the same weights for
Thompson sampling), so the learner forgets at that rate and can follow a chain
whose best configuration changes with its regime; ``discount = 1`` (default)
assumes a stationary chain.

Ties are broken at random. All randomness comes from one
``numpy.random.Generator`` seeded at construction: the same seed and the same
observations give the same choices.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtopt.errors import DtoptError
from dtopt.solvers._checks import check_choice, check_real, check_seed
from dtopt.twin.config_search.space import Configuration, ConfigurationSpace

__all__ = ["POLICIES", "ConfigurationBandit", "shortfall_cost"]

POLICIES = ("ucb", "thompson")


_WHO = "ConfigurationBandit"


def shortfall_cost(
    latency_s: ArrayLike, throughput_tps: ArrayLike, rate_tps: float | None, penalty_s: float,
    throughput_slack: float,
) -> NDArray[np.float64]:
    """``latency_s + penalty_s * max(0, 1 - throughput_tps / required)`` with the required rate
    ``(1 - throughput_slack) * rate_tps`` (s); just the latency when ``rate_tps`` is ``None`` or 0.

    The cost the online learners minimise: a Lagrangian penalty for missing the rate.
    """
    latency_s = np.asarray(latency_s, dtype=float)
    if not rate_tps:
        return latency_s
    required = (1.0 - throughput_slack) * rate_tps
    return latency_s + penalty_s * np.maximum(0.0, 1.0 - np.asarray(throughput_tps, dtype=float) / required)


def _nonnegative(name: str, value: object) -> float:
    return check_real(_WHO, name, value, lambda x: x >= 0, "a finite number >= 0")


def _rate(value: object) -> float | None:
    """An arrival rate (tx/s, >= 0) or ``None`` (no throughput constraint)."""
    return None if value is None else _nonnegative("arrival_rate_tps", value)


class ConfigurationBandit:
    """UCB1 or Thompson sampling over the configurations of ``space``.

    Parameters
    ----------
    space : the configurations (arms).
    arrival_rate_tps : the rate to carry (tx/s); ``None``: no throughput constraint.
        :meth:`select` may override it per interval.
    policy : ``"ucb"`` or ``"thompson"``.
    seed : seeds the generator (first-round order, tie breaks, Thompson draws).
    penalty_s : cost (s) of missing the required rate entirely; a 10% shortfall
        costs a tenth of it (>= 0).
    throughput_slack : the required rate is ``(1 - throughput_slack) * arrival_rate_tps``, in [0, 1).
    exploration : multiplies the UCB bonus and the Thompson spread (>= 0; 0 is greedy).
    discount : weight kept by past observations at each update, in (0, 1]; 1 = stationary.

    Attributes
    ----------
    plays : times each configuration was observed, shape ``(len(space),)``.
    """

    def __init__(
        self,
        space: ConfigurationSpace,
        *,
        arrival_rate_tps: float | None = None,
        policy: str = "thompson",
        seed: int = 0,
        penalty_s: float = 100.0,
        throughput_slack: float = 0.01,
        exploration: float = 1.0,
        discount: float = 1.0,
    ) -> None:
        if not isinstance(space, ConfigurationSpace):
            raise DtoptError(f"space must be a ConfigurationSpace, got {type(space).__name__}")
        self.space = space
        self.policy = check_choice(_WHO, "policy", policy, POLICIES)
        self.arrival_rate_tps = _rate(arrival_rate_tps)
        self.penalty_s = _nonnegative("penalty_s", penalty_s)
        self.throughput_slack = check_real(
            _WHO, "throughput_slack", throughput_slack, lambda x: 0 <= x < 1, "in [0, 1)"
        )
        self.exploration = _nonnegative("exploration", exploration)
        self.discount = check_real(_WHO, "discount", discount, lambda x: 0 < x <= 1, "in (0, 1]")
        self._rng = np.random.default_rng(check_seed(_WHO, seed))
        self._configs = space.configurations()
        self._index = {c: i for i, c in enumerate(self._configs)}
        self._first = self._rng.permutation(len(space))  # the order in which arms are first tried
        self.plays = np.zeros(len(space), dtype=np.int64)
        self._weight = np.zeros(len(space))  # discounted observation counts
        self._sums = np.zeros((2, len(space)))  # latency, throughput
        self._squares = np.zeros((2, len(space)))

    def select(self, arrival_rate_tps: float | None = None) -> Configuration:
        """The configuration to run next (``arrival_rate_tps`` overrides the constructor's)."""
        rate = _rate(arrival_rate_tps)
        rate = self.arrival_rate_tps if rate is None else rate
        untried = self._first[self.plays[self._first] == 0]  # in the seeded first-try order
        if untried.size:  # (updates may credit other arms than those selected)
            return self._configs[int(untried[0])]
        mean, scale = self._mean(), self._scale()
        # A long-forgotten arm's weight may underflow: floor it (a huge spread, so it is explored again).
        spread = self.exploration * scale[:, None] / np.sqrt(np.maximum(self._weight, 1e-12))  # (2, arms)
        if self.policy == "ucb":
            step = math.sqrt(2.0 * math.log(max(self._weight.sum(), 1.0)))
            latency_s, throughput_tps = mean + np.array([[-step], [step]]) * spread
        else:
            latency_s, throughput_tps = mean + spread * self._rng.standard_normal(mean.shape)
        cost = self._cost(latency_s, throughput_tps, rate)
        ties = np.flatnonzero(cost == cost.min())
        return self._configs[int(ties[self._rng.integers(ties.size)])]

    def update(self, configuration: Configuration, observed_latency_s: float,
               observed_throughput_tps: float) -> None:
        """Record what the chain did under ``configuration`` (mean latency in s, throughput in tx/s)."""
        arm = self._index.get(configuration)
        if arm is None:
            raise DtoptError(f"configuration {configuration!r} is not in the space {self.space.spec()}")
        latency_s = _nonnegative("observed_latency_s", observed_latency_s)
        throughput_tps = _nonnegative("observed_throughput_tps", observed_throughput_tps)
        self.plays[arm] += 1
        if self.discount < 1:
            for stat in (self._weight, self._sums, self._squares):
                stat *= self.discount
        self._weight[arm] += 1.0
        self._sums[:, arm] += (latency_s, throughput_tps)
        self._squares[:, arm] += (latency_s**2, throughput_tps**2)

    def best(self, arrival_rate_tps: float | None = None) -> Configuration:
        """The tried configuration of lowest cost on its means (exploitation only)."""
        if not self.plays.any():
            raise DtoptError("no configuration has been observed yet")
        rate = _rate(arrival_rate_tps)
        latency_s, throughput_tps = self._mean()
        cost = np.where(self.plays > 0, self._cost(latency_s, throughput_tps,
                                                   self.arrival_rate_tps if rate is None else rate), np.inf)
        return self._configs[int(np.argmin(cost))]

    def _cost(self, latency_s: NDArray, throughput_tps: NDArray, rate: float | None) -> NDArray:
        return shortfall_cost(latency_s, throughput_tps, rate, self.penalty_s, self.throughput_slack)

    def _mean(self) -> NDArray[np.float64]:
        """Per metric and arm, the mean observation (0 for untried arms), shape ``(2, arms)``."""
        return self._sums / np.maximum(self._weight, 1e-12) * (self.plays > 0)

    def _scale(self) -> NDArray[np.float64]:
        """Per metric, the pooled within-arm standard deviation, shape ``(2,)``.

        When the (discounted) weights leave no degree of freedom within arms (before
        any arm has two observations, or when strong discounting spreads little
        weight over many arms): the standard deviation across all observations
        (arms differ, so it overstates the noise and explores more); never 0.
        """
        total = float(self._weight.sum())
        dof = total - int(np.count_nonzero(self.plays))
        if dof >= 1:
            within = self._squares - self._sums * self._mean()
            var = within.sum(axis=1) / dof
        elif total >= 2:
            var = self._squares.sum(axis=1) / total - (self._sums.sum(axis=1) / total) ** 2
        else:
            var = np.ones(2)
        return np.sqrt(np.clip(var, 1e-18, None))
