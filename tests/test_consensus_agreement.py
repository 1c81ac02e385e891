"""The round oracle and the message-level chain agree on every commit time.

Jitter off and every block full (a high arrival rate and a small maximum block
size, so block sizes are deterministic), on heterogeneous but fixed bandwidths
and propagation latencies: nothing is random, so the oracle with one replica
must predict each block's commit time the chain produces, to the oracle's
float32 precision. Offline validators are the last ones in the rotation and the
commit-time comparison stops before the first of them would propose; runs with
round changes (offline proposers, or a proposal too slow for its round) are
compared on their blocks, inter-block time and latency (the last test).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dtopt.consensus import fault_tolerance, run_chain
from dtopt.consensus.scenario import Regime, Scenario
from dtopt.errors import DtoptError
from dtopt.twin import OracleState, RoundOracle

RATE_PER_S = 1000.0  # every block after the first is full (20 tx of 5 KB)
TOLERANCE_S = 2e-5  # float32 times relative to each round's start


def _scenario(n: int, n_offline: int, **options: object) -> Scenario:
    rng = np.random.default_rng(n)
    names = tuple(f"bp{i}" for i in range(n))
    prop = rng.uniform(0.005, 0.05, (n, n))
    prop = (prop + prop.T) / 2
    np.fill_diagonal(prop, 0.0)
    regime = Regime(0.0, offline=names[n - n_offline:], bandwidth_mbps=tuple(rng.uniform(0.7, 2.0, n)),
                    tx_rate_per_s=RATE_PER_S, jitter_s=0.0)
    return Scenario(nodes=names, producers=names, regimes=(regime,), propagation_s=prop, max_block_mb=0.1,
                    **options)


def _state(scenario: Scenario) -> OracleState:
    regime = scenario.regimes[0]
    return OracleState(online=np.array([name not in regime.offline for name in scenario.producers]),
                       bandwidth_mbps=np.array(regime.bandwidth_mbps), tx_rate_per_s=RATE_PER_S)


def _chain_commits_s(scenario: Scenario, protocol: str, n_blocks: int) -> list[float]:
    blocks = run_chain(scenario, protocol, 150.0, seed=1).view.blocks[:n_blocks]
    assert len(blocks) == n_blocks and all(b.round == 0 for b in blocks)
    assert len(blocks[-1].tx_ids) == 20  # full blocks: sizes are deterministic
    return [b.committed_s for b in blocks]


def _assert_agree(scenario: Scenario, protocol: str, n_blocks: int) -> None:
    oracle = RoundOracle(scenario.config, replicas=1)
    state = _state(scenario)
    for k, commit_s in enumerate(_chain_commits_s(scenario, protocol, n_blocks), start=1):
        # a horizon just after the k-th commit: the oracle sees k blocks, the last at commit_s
        prediction = oracle.predict(state, protocol, commit_s + 1e-3)
        assert prediction.mean_blocks == k
        assert prediction.mean_interblock_s * k == pytest.approx(commit_s, abs=TOLERANCE_S)


@pytest.mark.parametrize("protocol", ["IBFT", "BigFoot"])
@pytest.mark.parametrize("offline", ["none", "f"])
@pytest.mark.parametrize("n", [4, 7, 10, 16, 31])
def test_oracle_and_chain_agree_on_every_commit_time(n: int, offline: str, protocol: str) -> None:
    n_offline = fault_tolerance(n) if offline == "f" else 0
    _assert_agree(_scenario(n, n_offline), protocol, min(n - n_offline, 12))


@pytest.mark.parametrize("protocol", ["IBFT", "BigFoot"])
@pytest.mark.parametrize("options", [
    {"votes_carry_block": True}, {"bandwidth_model": "slower"},
    {"votes_carry_block": True, "bandwidth_model": "slower"},
])
def test_oracle_and_chain_agree_under_the_model_options(options: dict, protocol: str) -> None:
    for n, n_offline in ((4, 0), (10, 1)):
        _assert_agree(_scenario(n, n_offline, **options), protocol, n - n_offline)


@pytest.mark.parametrize("protocol", ["IBFT", "BigFoot"])
@pytest.mark.parametrize("options", [{"votes_carry_block": True}, {"bandwidth_model": "slower"}])
def test_model_options_slow_the_chain_down(options: dict, protocol: str) -> None:
    """Votes carrying the block, or links at the slower end's bandwidth, only add transmission
    time: every commit comes later, in the chain and in the oracle alike."""
    base, slowed = _scenario(10, 0), _scenario(10, 0, **options)
    n_blocks = 8
    before, after = _chain_commits_s(base, protocol, n_blocks), _chain_commits_s(slowed, protocol, n_blocks)
    assert all(a > b for a, b in zip(after[1:], before[1:], strict=True))  # the first block is empty
    predicted = {
        label: RoundOracle(scenario.config, replicas=1).predict(_state(scenario), protocol, 30.0)
        for label, scenario in (("before", base), ("after", slowed))
    }
    assert predicted["after"].mean_blocks < predicted["before"].mean_blocks


def test_model_options_default_off_and_validated() -> None:
    config = _scenario(4, 0).config
    assert (config.votes_carry_block, config.bandwidth_model) == (False, "sender")
    with pytest.raises(DtoptError, match="bandwidth_model"):
        config.replace(bandwidth_model="fastest")
    with pytest.raises(DtoptError, match="votes_carry_block"):
        config.replace(votes_carry_block="yes")


def _round_change_scenario(n: int, offline: str, round_timer: str) -> Scenario:
    """The agreement scenario with a 2 s round timeout, and round changes in every regime: f
    offline validators (consecutive in the rotation: up to f round changes in a row), or with
    everyone online a last validator on a 0.05 MB/s link, whose proposal cannot reach a quorum
    within its round (the block is locked and re-proposed by the next proposer)."""
    n_offline = fault_tolerance(n) if offline == "f" else 0
    base = _scenario(n, n_offline, round_timeout_s=2.0, fast_path_timeout_s=1.0, round_timer=round_timer)
    if n_offline:
        return base
    regime = base.regimes[0]
    slow = dataclasses.replace(regime, bandwidth_mbps=(*regime.bandwidth_mbps[:-1], 0.05))
    return base.with_(regimes=(slow,))


@pytest.mark.parametrize("round_timer", ["doubling", "fixed"])
@pytest.mark.parametrize("protocol", ["IBFT", "BigFoot"])
@pytest.mark.parametrize("offline", ["none", "f"])
@pytest.mark.parametrize("n", [4, 7, 10, 16, 31])
def test_oracle_and_chain_agree_after_round_changes(n: int, offline: str, protocol: str, round_timer: str
                                                    ) -> None:
    """The chain and the oracle follow the same round-change rule (a node enters the next round
    when it sends ROUND-CHANGE, and its timers run from then; the quorum lets the proposer
    propose, re-proposing a block voted on in an earlier round): over a run with round changes
    they agree within 10% on the blocks, the inter-block time and the latency (measured: within
    3%, most exactly). A round that commits at some nodes just before their timers and at the others
    after them is completed by sync (late commits) in both."""
    scenario = _round_change_scenario(n, offline, round_timer)
    horizon_s = 240.0 if n > 16 else 120.0  # f = 10 offline in a row: 126 s of round changes when doubling
    run = run_chain(scenario, protocol, horizon_s, seed=1)
    blocks = run.view.blocks
    assert any(b.round > 0 for b in blocks), "no round change to compare"
    predicted = RoundOracle(scenario.config, replicas=1).predict(_state(scenario), protocol, horizon_s)
    assert predicted.mean_blocks == pytest.approx(len(blocks), rel=0.10)
    assert predicted.mean_interblock_s == pytest.approx(run.metrics.mean_interblock_s, rel=0.10)
    assert predicted.mean_tx_latency_s == pytest.approx(run.metrics.mean_tx_latency_s, rel=0.10)
