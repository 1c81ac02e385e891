"""Dynamic consensus management: the permissioned chain, its protocols and its outside view."""

from dtopt.consensus.chain import Chain, ChainRun, run_chain
from dtopt.consensus.config import BANDWIDTH_MODELS, ChainConfig
from dtopt.consensus.loading import load_scenario, scenario_from_dict
from dtopt.consensus.metrics import ChainMetrics, chain_metrics
from dtopt.consensus.presets import SCENARIOS, preset_scenario
from dtopt.consensus.protocols import (
    BIGFOOT,
    IBFT,
    PROTOCOLS,
    MessageCosts,
    MessageKind,
    ProtocolRules,
    draw_jitter_s,
    fault_tolerance,
    get_protocol,
    message_delay_s,
    proposer_index,
    quorum_size,
)
from dtopt.consensus.scenario import Regime, Scenario, random_propagation_s, uniform_scenario
from dtopt.consensus.view import BlockRecord, ChainView, VoteRecord

__all__ = [
    "BANDWIDTH_MODELS",
    "BIGFOOT",
    "IBFT",
    "PROTOCOLS",
    "SCENARIOS",
    "BlockRecord",
    "Chain",
    "ChainConfig",
    "ChainMetrics",
    "ChainRun",
    "ChainView",
    "MessageCosts",
    "MessageKind",
    "ProtocolRules",
    "Regime",
    "Scenario",
    "VoteRecord",
    "chain_metrics",
    "draw_jitter_s",
    "fault_tolerance",
    "get_protocol",
    "load_scenario",
    "message_delay_s",
    "preset_scenario",
    "proposer_index",
    "quorum_size",
    "random_propagation_s",
    "run_chain",
    "scenario_from_dict",
    "uniform_scenario",
]
