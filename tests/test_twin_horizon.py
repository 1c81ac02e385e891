"""The configuration twin's horizon: two intervals by default, because a departure's cost can
fall after the interval it is chosen for."""

from __future__ import annotations

import numpy as np
import pytest

from dtopt.consensus import load_scenario
from dtopt.errors import DtoptError
from dtopt.twin import DigitalTwin, OracleState, RoundOracle
from dtopt.twin.config_search import ConfigurationSpace
from dtopt.twin.config_search.oracle_cost import oracle_evaluator


def _predicted_wait_s(horizon_s: float) -> np.ndarray:
    """Predicted wait of IBFT 4 MB / 2 s with a 3 s and a 10 s timeout, the last two
    proposers of the rotation offline and the first one next, shape (2,)."""
    base = load_scenario("paper", 200.0, seed=1).config
    n = len(base.validators)
    state = OracleState(
        online=np.arange(n) < n - 2, bandwidth_mbps=np.full(n, 1.5), tx_rate_per_s=50.0, jitter_s=0.01,
        backlog_tx=0, backlog_age_s=0.0, next_height=0, round_elapsed_s=0.0, since_proposal_s=float("inf"),
        now_s=0.0, in_force="IBFT",
    )
    space = ConfigurationSpace(protocols=("IBFT",), max_block_sizes_mb=(4.0,), min_block_intervals_s=(2.0,),
                               round_timeouts_s=(3.0, 10.0))
    latency_s, _ = oracle_evaluator(RoundOracle(base), state, horizon_s, base, seed=0)(
        space.batch(np.arange(len(space))), 64)
    return latency_s.mean(axis=1)


def test_a_long_timeout_is_charged_only_once_the_rotation_reaches_the_offline_proposers() -> None:
    # eight online proposers at about 2 s a block: within one 25 s interval the rotation never
    # reaches the two offline ones, so the timeouts tie; over two intervals 10 s costs far more
    short, long = _predicted_wait_s(25.0)
    assert short == pytest.approx(long)
    short, long = _predicted_wait_s(50.0)
    assert long > 2.0 * short


def test_the_configuration_twin_looks_two_intervals_ahead_by_default() -> None:
    scenario = load_scenario("paper", 200.0, seed=1)
    twin = DigitalTwin.from_scenario(scenario, space=ConfigurationSpace())
    assert twin.horizon_s == pytest.approx(2.0 * twin.interval_s) == pytest.approx(50.0)
    assert DigitalTwin.from_scenario(scenario, space=ConfigurationSpace(), horizon_s=25.0).horizon_s == 25.0
    with pytest.raises(DtoptError, match="horizon_s must be a finite number > 0"):
        DigitalTwin.from_scenario(scenario, space=ConfigurationSpace(), horizon_s=0.0)
