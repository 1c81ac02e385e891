"""The ``Learned forest`` baseline of ``benchmarks.consensus --space``: the chain driven by
:class:`dtopt.twin.config_search.ConfigurationForest`, from the outside view alone.

Every twin interval ``[t - TI, t)`` the controller reads ``chain.view`` of the
interval just ended: its context (:func:`~dtopt.twin.config_search.interval_features`),
its waiting time, throughput and arrival rate. It credits that outcome to the
configuration most of the interval's blocks were proposed under, with the context
seen when that interval began (what the choice was made on), then asks the learner
for the next configuration given the new context and hands it to a validator that
signed the interval's last block, as the bandit baseline does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from benchmarks._config_baselines import next_voter, observed_configuration
from benchmarks._hindsight import interval_wait_s
from dtopt.consensus.chain import Chain
from dtopt.consensus.metrics import chain_metrics
from dtopt.twin.config_search import FEATURES, Configuration, ConfigurationForest, interval_features

__all__ = ["LEARNED_FOREST", "ForestController"]

LEARNED_FOREST = "Learned forest"


@dataclass
class ForestController:
    """Controller that lets ``learner`` choose the configuration every ``interval_s`` (s).

    ``choices`` records ``(t_s, configuration)`` per interval.
    """

    learner: ConfigurationForest
    interval_s: float
    choices: list[tuple[float, Configuration]] = field(default_factory=list)
    _context: NDArray[np.float64] | None = None  # the features the last choice was made on

    def __call__(self, chain: Chain, t_s: float) -> None:
        start_s = max(t_s - self.interval_s, 0.0)
        window = chain.view(start_s, t_s)
        features = interval_features(window)
        observed = observed_configuration(chain, window, self.learner.space)
        if observed is not None and self._context is not None:
            self.learner.update(
                observed, self._context, interval_wait_s(chain, start_s, t_s),
                chain_metrics(window).throughput_tps, features[FEATURES.index("arrival_rate_tps")],
            )
        chosen = self.learner.select(features)
        self._context = features
        self.choices.append((t_s, chosen))
        chain.request_config(next_voter(window), **chosen.to_dict())
