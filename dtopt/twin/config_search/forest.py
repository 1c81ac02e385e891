"""A contextual learner over the configurations: one regression forest per configuration.

In the manner of BFTBrain (Wu, Qin, Amiri, Loo, Malkhi and Marcus, "BFTBrain:
Adaptive BFT Consensus with Reinforcement Learning", NSDI 2025), which treats the
choice of a BFT protocol as a contextual multi-armed bandit: the arms are the
configurations of a space, the context is a few metrics the chain publishes about
the interval just ended (:func:`interval_features`), and each arm has a reward
model, a regression forest (scikit-learn's ``RandomForestRegressor``) from the
context to the cost that interval under that configuration incurred. It is trained
online from the chain's own outcomes only: no model of the chain, no what-if.

Choosing (Thompson sampling over bagged trees, as the trees of a bootstrap forest
spread like draws from the model's posterior): every arm with at least
``min_fit`` observations predicts the next interval's cost with one of its trees,
drawn at random; an arm with fewer predicts one of its own observations, drawn at
random. One further draw, of a cost observed under any arm, stands for all untried
arms: if it is the lowest, a random untried arm is tried (so a new configuration
is explored with the chance that an unseen one beats the best seen). The lowest
draw wins; ties are broken at random.

The cost is the bandit's (:func:`~dtopt.twin.config_search.bandit.shortfall_cost`):
the interval's waiting time plus a penalty for the share of the arrival rate that
was not carried. All randomness comes from the seed: the same seed and the same
observations give the same choices.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from dtopt.consensus.view import ChainView
from dtopt.errors import DtoptError
from dtopt.solvers._checks import check_int, check_real, check_seed
from dtopt.twin.config_search.bandit import shortfall_cost
from dtopt.twin.config_search.space import Configuration, ConfigurationSpace

__all__ = ["FEATURES", "ConfigurationForest", "interval_features"]

#: The context, in the order of :func:`interval_features`.
FEATURES: Final = (
    "block_fill",  # mean share of the maximum block size the blocks used
    "interblock_s",  # mean time between commits (s)
    "round_changes",  # mean round per block (each round change adds one)
    "votes_share",  # mean share of the validators whose votes a block carries
    "arrival_rate_tps",  # transactions that arrived per second
)

_WHO = "ConfigurationForest"


def interval_features(view: ChainView) -> NDArray[np.float64]:
    """The context of a window of the outside view, shape ``(len(FEATURES),)``.

    A window without blocks has an empty fill, no votes and an inter-block time as
    long as the window (the chain did not commit in it).
    """
    length_s = max(view.end_s - view.start_s, 1e-9)
    rate = view.tx_ids.size / length_s
    blocks = view.blocks
    if not blocks:
        return np.array([0.0, length_s, 0.0, 0.0, rate])
    fill = np.mean([b.size_mb / b.max_block_mb for b in blocks])
    commits = [view.start_s] + [b.committed_s for b in blocks]
    voters = [len({v.validator for v in b.votes} | {b.proposer}) for b in blocks]
    return np.array([
        fill,
        float(np.mean(np.diff(commits))),
        float(np.mean([b.round for b in blocks])),
        float(np.mean(voters)) / max(len(view.validators), 1),
        rate,
    ])


class ConfigurationForest:
    """One regression forest per configuration of ``space``, trained online.

    Parameters
    ----------
    space : the configurations (arms).
    seed : seeds the choices and every forest.
    n_trees : trees per forest (>= 1).
    min_fit : observations an arm needs before its forest predicts (>= 2).
    penalty_s, throughput_slack : the cost's throughput penalty
        (:class:`~dtopt.twin.config_search.ConfigurationBandit`'s meaning).

    Attributes
    ----------
    plays : times each configuration was observed, shape ``(len(space),)``.
    """

    def __init__(
        self, space: ConfigurationSpace, *, seed: int = 0, n_trees: int = 20, min_fit: int = 3,
        penalty_s: float = 100.0, throughput_slack: float = 0.01,
    ) -> None:
        if not isinstance(space, ConfigurationSpace):
            raise DtoptError(f"space must be a ConfigurationSpace, got {type(space).__name__}")
        self.space = space
        self.seed = check_seed(_WHO, seed)
        self.n_trees = check_int(_WHO, "n_trees", n_trees, minimum=1)
        self.min_fit = check_int(_WHO, "min_fit", min_fit, minimum=2)
        self.penalty_s = check_real(_WHO, "penalty_s", penalty_s, lambda x: x >= 0, "a finite number >= 0")
        self.throughput_slack = check_real(
            _WHO, "throughput_slack", throughput_slack, lambda x: 0 <= x < 1, "in [0, 1)"
        )
        self._rng = np.random.default_rng([self.seed, 0xF0E5])
        self._configs = space.configurations()
        self._index = {c: i for i, c in enumerate(self._configs)}
        self.plays = np.zeros(len(space), dtype=np.int64)
        self._x: list[list[NDArray[np.float64]]] = [[] for _ in self._configs]
        self._cost: list[list[float]] = [[] for _ in self._configs]
        self._forests: dict[int, object] = {}

    def select(self, features: NDArray[np.float64]) -> Configuration:
        """The configuration to run next, given the context of the interval just ended."""
        x = self._checked(features)[None, :]
        tried = np.flatnonzero(self.plays)
        untried = np.flatnonzero(self.plays == 0)
        if tried.size == 0:
            return self._configs[int(untried[self._rng.integers(untried.size)])]
        draws = np.array([self._draw(int(arm), x) for arm in tried])
        if untried.size:
            pooled = [c for arm in tried for c in self._cost[arm]]
            draws = np.append(draws, pooled[self._rng.integers(len(pooled))])
        ties = np.flatnonzero(draws == draws.min())
        pick = int(ties[self._rng.integers(ties.size)])
        if pick == tried.size:  # the draw that stands for every untried arm
            return self._configs[int(untried[self._rng.integers(untried.size)])]
        return self._configs[int(tried[pick])]

    def update(self, configuration: Configuration, features: NDArray[np.float64],
               observed_latency_s: float, observed_throughput_tps: float, arrival_rate_tps: float) -> None:
        """Record an interval run under ``configuration``: the context seen when it was chosen,
        its waiting time (s), throughput and arrival rate (tx/s); refits that arm's forest."""
        arm = self._index.get(configuration)
        if arm is None:
            raise DtoptError(f"configuration {configuration!r} is not in the space {self.space.spec()}")
        values = [check_real(_WHO, name, value, lambda v: v >= 0, "a finite number >= 0")
                  for name, value in (("observed_latency_s", observed_latency_s),
                                      ("observed_throughput_tps", observed_throughput_tps),
                                      ("arrival_rate_tps", arrival_rate_tps))]
        cost = float(shortfall_cost(values[0], values[1], values[2], self.penalty_s, self.throughput_slack))
        self.plays[arm] += 1
        self._x[arm].append(self._checked(features))
        self._cost[arm].append(cost)
        if self.plays[arm] >= self.min_fit:
            self._forests[arm] = self._fit(arm)

    def _fit(self, arm: int) -> object:
        from sklearn.ensemble import RandomForestRegressor  # import on first use: it is slow

        state = int(np.random.default_rng([self.seed, arm, int(self.plays[arm])]).integers(2**31))
        forest = RandomForestRegressor(n_estimators=self.n_trees, random_state=state, n_jobs=1)
        return forest.fit(np.array(self._x[arm]), np.array(self._cost[arm]))

    def _draw(self, arm: int, x: NDArray[np.float64]) -> float:
        forest = self._forests.get(arm)
        if forest is None:
            observed = self._cost[arm]
            return observed[self._rng.integers(len(observed))]
        trees = forest.estimators_  # type: ignore[attr-defined]
        return float(trees[self._rng.integers(len(trees))].predict(x)[0])

    def _checked(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        x = np.asarray(features, dtype=float)
        if x.shape != (len(FEATURES),) or not np.isfinite(x).all():
            raise DtoptError(f"features must be {len(FEATURES)} finite numbers ({', '.join(FEATURES)})")
        return x
