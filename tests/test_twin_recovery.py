"""The twin after a regime change: state inference recovers within one interval, the regime
memory learns the change risk, and the configuration twin reads only what the chain publishes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dtopt.consensus.chain import Chain
from dtopt.consensus.scenario import Regime, uniform_scenario
from dtopt.consensus.view import ChainView
from dtopt.errors import DtoptError
from dtopt.twin import DigitalTwin, OracleState
from dtopt.twin.analyse import Analyser
from dtopt.twin.config_search import ConfigurationSpace
from dtopt.twin.monitor import Monitor
from dtopt.twin.regimes import REGIME, RegimeMemory

N = 7
CHANGE_S = 110.0  # inside the twin interval [100, 125)
BEFORE = Regime(start_s=0.0, bandwidth_mbps=(1.5,) * N, tx_rate_per_s=20.0, jitter_s=0.01)
AFTER = Regime(start_s=CHANGE_S, offline=("bp6",), bandwidth_mbps=(0.4,) * N, tx_rate_per_s=60.0,
               jitter_s=0.01)


def _scenario():
    return uniform_scenario(N, twin_interval_s=25.0, state_period_s=1000.0, regimes=(BEFORE, AFTER))


class PublicOnly:
    """A chain seen through the twin's contract (:class:`~dtopt.twin.monitor.WatchedChain`):
    any other attribute is refused, so a twin that reads hidden state fails."""

    _ALLOWED = ("now_s", "protocol", "view", "request_switch", "request_config")

    def __init__(self, chain: Chain) -> None:
        object.__setattr__(self, "_chain", chain)

    def __getattr__(self, name: str) -> Any:
        if name not in self._ALLOWED:
            raise AssertionError(f"the twin read the chain's {name!r}, which the chain does not publish")
        return getattr(object.__getattribute__(self, "_chain"), name)


def _blocks_after_change(t_s: float):
    chain = Chain(_scenario(), "IBFT", seed=3)
    chain.run_until(t_s)
    return [b for b in chain.view(0.0, t_s).blocks if b.proposed_s >= CHANGE_S]


@pytest.fixture(scope="module")
def estimates() -> dict[float, Any]:
    scenario = _scenario()
    chain = Chain(scenario, "IBFT", seed=3)
    monitor, analyser = Monitor(scenario.config.validators), Analyser(scenario.config)
    out = {}
    for t_s in (25.0, 50.0, 75.0, 100.0, 125.0, 150.0):
        chain.run_until(t_s)
        out[t_s] = analyser.analyse(monitor.observe(PublicOnly(chain), t_s))
    return out


@pytest.mark.parametrize("t_s", [125.0, 150.0])
def test_state_inference_recovers_within_one_interval(estimates: dict, t_s: float) -> None:
    """The interval holding the change (15 s of the new regime out of 25) already gives the new
    offline set and arrival rate, and the bandwidth of every validator that proposed since the
    change, from the blocks after it only (not a median with the old regime's blocks)."""
    est = estimates[t_s].state
    assert estimates[t_s].offline == ("bp6",)
    assert est.tx_rate_per_s == pytest.approx(AFTER.tx_rate_per_s, rel=0.2)
    since = {b.proposer for b in _blocks_after_change(t_s)}
    assert since, "no block after the change: nothing to measure"
    index = sorted(int(name[2:]) for name in since)
    assert np.all(np.abs(est.bandwidth_mbps[index] / 0.4 - 1.0) < 0.35), est.bandwidth_mbps
    before = estimates[100.0].state
    assert before.tx_rate_per_s == pytest.approx(BEFORE.tx_rate_per_s, rel=0.25)
    assert np.all(np.abs(before.bandwidth_mbps / 1.5 - 1.0) < 0.35)


def _state(offline: int = 0, rate: float = 50.0, bw: float = 1.5, jitter: float = 0.01) -> OracleState:
    online = np.arange(N) < N - offline
    return OracleState(online=online, bandwidth_mbps=np.full(N, bw), tx_rate_per_s=rate, jitter_s=jitter)


def test_regime_memory_groups_noise_and_learns_the_change_risk() -> None:
    memory = RegimeMemory()
    steady, faulty = _state(), _state(offline=2, jitter=0.1)
    # one regime despite estimation noise (rate, bandwidth and jitter within a factor 2)
    for rate, bw in ((50.0, 1.5), (46.0, 1.3), (55.0, 1.7), (48.0, 1.4)):
        memory.observe(_state(rate=rate, bw=bw))
    assert memory.labels == [0, 0, 0, 0] and memory.change_probability() == pytest.approx(1 / 5)
    assert memory.others(steady) == []
    assert memory.mix([("as-estimated", steady, 1.0)], steady) == [("as-estimated", steady, 1.0)]
    for state in (faulty, faulty, steady, steady, faulty):  # 3 changes in 8 transitions
        memory.observe(state)
    assert memory.labels == [0, 0, 0, 0, 1, 1, 0, 0, 1]
    p = memory.change_probability()
    assert p == pytest.approx((3 + 1) / (8 + 2))
    mixed = memory.mix([("as-estimated", faulty, 1.0)], faulty)
    assert [name for name, _, _ in mixed] == ["as-estimated", f"{REGIME}0"]
    assert [w for _, _, w in mixed] == pytest.approx([1 - p, p])
    other = mixed[1][1]  # the steady regime's conditions with the current pool and round
    assert other.online.all() and other.jitter_s == pytest.approx(0.01)
    assert memory.regime(_state(rate=150.0)) is None  # a load surge is a regime of its own
    with pytest.raises(DtoptError):
        RegimeMemory(tolerance=1.0)
    with pytest.raises(DtoptError):
        RegimeMemory(max_others=-1)


def test_config_twin_reads_only_what_the_chain_publishes() -> None:
    scenario = _scenario()
    space = ConfigurationSpace.parse("protocol=IBFT,BigFoot;block=1,2;interval=0.1;timeout=3,10")
    twin = DigitalTwin.from_scenario(scenario, replicas=16, seed=2, space=space)
    chain = Chain(scenario, "IBFT", seed=2)
    for t_s in (25.0, 50.0, 75.0, 100.0, 125.0, 150.0):
        chain.run_until(t_s)
        twin(PublicOnly(chain), t_s)
    assert all(r.error is None for r in twin.records)
    assert "bp6" in twin.records[-1].offline
    # after the change the decision weighs the regime seen before it
    assert any(name.startswith(REGIME) for name in twin.records[-1].basis)
    assert isinstance(chain.view(0.0, 150.0), ChainView)
