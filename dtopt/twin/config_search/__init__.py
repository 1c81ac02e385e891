"""Configuration search: the chain's configuration space, the constrained decision over a
noisy cost function (exhaustive or successive halving), the Pareto set, and two model-free
baselines: a bandit and a contextual learner with a regression forest per configuration.
Library pieces; see ``docs/twin.md`` ("Configuration search")."""

from dtopt.twin.config_search.bandit import POLICIES, ConfigurationBandit, shortfall_cost
from dtopt.twin.config_search.forest import FEATURES, ConfigurationForest, interval_features
from dtopt.twin.config_search.pareto import pareto_mask
from dtopt.twin.config_search.search import (
    METHODS,
    ConfigurationDecider,
    ConfigurationDecision,
    ConfigurationEstimate,
    Evaluate,
    choose,
)
from dtopt.twin.config_search.space import (
    DEFAULT_BLOCK_INTERVALS_S,
    DEFAULT_BLOCK_SIZES_MB,
    DEFAULT_PROTOCOLS,
    DEFAULT_ROUND_TIMEOUTS_S,
    MAX_CONFIGURATIONS,
    Configuration,
    ConfigurationBatch,
    ConfigurationSpace,
)
from dtopt.twin.config_search.synthetic import SyntheticLandscape

__all__ = [
    "DEFAULT_BLOCK_INTERVALS_S",
    "DEFAULT_BLOCK_SIZES_MB",
    "DEFAULT_PROTOCOLS",
    "DEFAULT_ROUND_TIMEOUTS_S",
    "FEATURES",
    "MAX_CONFIGURATIONS",
    "METHODS",
    "POLICIES",
    "Configuration",
    "ConfigurationBandit",
    "ConfigurationBatch",
    "ConfigurationDecider",
    "ConfigurationDecision",
    "ConfigurationEstimate",
    "ConfigurationForest",
    "ConfigurationSpace",
    "Evaluate",
    "SyntheticLandscape",
    "choose",
    "interval_features",
    "pareto_mask",
    "shortfall_cost",
]
