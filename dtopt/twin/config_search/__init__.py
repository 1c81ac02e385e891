"""Configuration search: the chain's configuration space, the constrained decision over a
noisy cost function (exhaustive or successive halving), the Pareto set, and a model-free
bandit baseline. Library pieces; see ``docs/twin.md`` ("Configuration search")."""

from dtopt.twin.config_search.bandit import POLICIES, ConfigurationBandit
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
    "MAX_CONFIGURATIONS",
    "METHODS",
    "POLICIES",
    "Configuration",
    "ConfigurationBandit",
    "ConfigurationBatch",
    "ConfigurationDecider",
    "ConfigurationDecision",
    "ConfigurationEstimate",
    "ConfigurationSpace",
    "Evaluate",
    "SyntheticLandscape",
    "choose",
    "pareto_mask",
]
