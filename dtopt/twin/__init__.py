"""The digital twin of a permissioned chain: dynamic consensus selection (MAPE-K).

Monitor -> analyse -> what-if scenarios -> plan (vectorised round oracle) ->
decide -> execute, one concept per module; :class:`DigitalTwin` wires them into a
``run_chain`` controller. See ``docs/twin.md``.
"""

from dtopt.twin.analyse import Analyser, Estimate
from dtopt.twin.anticipate import SeasonalForecaster
from dtopt.twin.decide import Decider, Decision
from dtopt.twin.execute import choose_producer, execute
from dtopt.twin.monitor import IntervalData, IntervalDataError, Monitor, WatchedChain, check_interval
from dtopt.twin.oracle import OraclePrediction, OracleState, RoundOracle
from dtopt.twin.plan import Plan, make_plan
from dtopt.twin.scenarios import AS_ESTIMATED, DROPOUT, FORECAST, WhatIf, what_if_scenarios
from dtopt.twin.twin import ANTICIPATION, DigitalTwin, TwinRecord

__all__ = [
    "ANTICIPATION",
    "AS_ESTIMATED",
    "DROPOUT",
    "FORECAST",
    "Analyser",
    "Decider",
    "Decision",
    "DigitalTwin",
    "Estimate",
    "IntervalData",
    "IntervalDataError",
    "Monitor",
    "OraclePrediction",
    "OracleState",
    "Plan",
    "RoundOracle",
    "SeasonalForecaster",
    "TwinRecord",
    "WatchedChain",
    "WhatIf",
    "check_interval",
    "choose_producer",
    "execute",
    "make_plan",
    "what_if_scenarios",
]
