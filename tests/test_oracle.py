"""The twin's vectorised round oracle: validation, determinism, exact rounds, protocol ordering."""

from __future__ import annotations

import numpy as np
import pytest

from dtopt.consensus import Regime, Scenario, load_scenario
from dtopt.consensus.chain import run_chain
from dtopt.consensus.config import ChainConfig
from dtopt.consensus.protocols import MessageCosts
from dtopt.errors import DtoptError
from dtopt.twin import OracleState, RoundOracle

NODES = tuple(f"v{i}" for i in range(4))


def _tiny(offline: tuple[str, ...] = (), rate: float = 0.0) -> Scenario:
    """4 validators, no propagation, 1 MB/s everywhere, no jitter: rounds are exact."""
    regime = Regime(0.0, offline=offline, bandwidth_mbps=(1.0,) * 4, tx_rate_per_s=rate, jitter_s=0.0)
    return Scenario(
        nodes=NODES, producers=NODES, faulty=("v3",), regimes=(regime,), propagation_s=np.zeros((4, 4))
    )


def _config(scenario: Scenario) -> ChainConfig:
    return scenario.config


def _state(scenario: Scenario, k: int = 0, **changes: object) -> OracleState:
    regime = scenario.regimes[k]
    state = OracleState(
        online=np.array([name not in regime.offline for name in scenario.producers]),
        bandwidth_mbps=np.array(regime.bandwidth_mbps),
        tx_rate_per_s=regime.tx_rate_per_s,
        jitter_s=regime.jitter_s,
    )
    return state.with_(**changes) if changes else state


@pytest.fixture(scope="module")
def paper() -> Scenario:
    return load_scenario("paper", 200.0, seed=1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"replicas": 0}, "replicas"),
        ({"replicas": 2.5}, "replicas"),
        ({"seed": -1}, "seed"),
    ],
)
def test_oracle_rejects_bad_parameters(kwargs: dict, match: str) -> None:
    params = _config(_tiny())
    with pytest.raises(DtoptError, match=match):
        RoundOracle(params, **kwargs)


def test_predict_rejects_bad_horizon_protocol_and_state() -> None:
    scenario = _tiny()
    oracle = RoundOracle(_config(scenario), replicas=4)
    state = _state(scenario)
    for horizon in (-1.0, 0.0, float("nan"), float("inf")):
        with pytest.raises(DtoptError, match="horizon_s"):
            oracle.predict(state, "IBFT", horizon)
    with pytest.raises(DtoptError, match="unknown protocol"):
        oracle.predict(state, "PBFT", 10.0)
    with pytest.raises(DtoptError, match="validators"):
        oracle.predict(state.with_(online=np.ones(3, bool), bandwidth_mbps=np.ones(3)), "IBFT", 10.0)
    with pytest.raises(DtoptError, match="at least one state"):
        oracle.predict_many([], "IBFT", 10.0)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"bandwidth_mbps": np.array([1.0, 0.0, 1.0, 1.0])}, "bandwidth_mbps"),
        ({"tx_rate_per_s": -1.0}, "tx_rate_per_s"),
        ({"jitter_s": float("nan")}, "jitter_s"),
        ({"backlog_tx": -3}, "backlog_tx"),
        ({"round_elapsed_s": -1.0}, "round_elapsed_s"),
        ({"online": np.ones(3, bool)}, "equal length"),
    ],
)
def test_state_validation(changes: dict, match: str) -> None:
    with pytest.raises(DtoptError, match=match):
        _state(_tiny(), **changes)


def test_chain_config_validation() -> None:
    good = _config(_tiny())
    with pytest.raises(DtoptError, match="propagation_s"):
        ChainConfig(validators=NODES, costs=MessageCosts(), propagation_s=np.zeros((3, 3)))
    with pytest.raises(DtoptError, match="twice"):
        ChainConfig(validators=("a", "a"))
    with pytest.raises(DtoptError, match="config must be a ChainConfig"):
        RoundOracle(_tiny())  # type: ignore[arg-type]
    assert good.block_capacity_tx == 200


def test_exact_round_times_match_the_protocol_and_the_chain() -> None:
    """No jitter, no propagation, 1 MB/s, empty blocks: every round is exact.

    IBFT: proposal 0.1 s, PRE-PREPARE at 0.1 + 0.2/1 + 0.5 = 0.8 s, PREPAREs at
    1.1 s, COMMITs at 1.4 s: a block every 1.4 s. BigFoot commits on the
    PREPAREs of all four at 1.1 s.
    """
    scenario = _tiny()
    oracle = RoundOracle(_config(scenario), replicas=3)
    expected = {"IBFT": 1.4, "BigFoot": 1.1}
    for protocol, round_s in expected.items():
        prediction = oracle.predict(_state(scenario), protocol, 14.05)
        assert prediction.mean_interblock_s == pytest.approx(round_s, rel=1e-5)
        assert prediction.mean_blocks == pytest.approx(np.floor(14.05 / round_s))
        assert prediction.throughput_tps == 0.0
        measured = run_chain(scenario, protocol, 100.0, seed=1).metrics
        assert measured.mean_interblock_s == pytest.approx(round_s, rel=0.02)


def test_batched_states_without_jitter_are_exact() -> None:
    # no jitter and no arrivals: nothing is random, so a batch of states predicts
    # exactly what each state predicts alone (a batch once broke on the jitter-free path)
    scenario = _tiny()
    oracle = RoundOracle(_config(scenario), replicas=3)
    states = [_state(scenario), _state(scenario, online=np.array([True, True, True, False]))]
    for protocol in ("IBFT", "BigFoot"):
        batch = oracle.predict_many(states, protocol, 14.05)
        assert batch == tuple(oracle.predict(state, protocol, 14.05) for state in states)
        if protocol == "BigFoot":  # a missing validator costs BigFoot its fast path
            assert batch[1].mean_blocks < batch[0].mean_blocks


def test_too_few_online_validators_predict_no_progress() -> None:
    scenario = _tiny(rate=10.0)
    oracle = RoundOracle(_config(scenario), replicas=4)
    state = _state(scenario, online=np.array([True, True, False, False]))
    prediction = oracle.predict(state, "IBFT", 30.0)
    assert prediction.throughput_tps == 0.0
    assert prediction.mean_tx_latency_s == float("inf")
    assert prediction.mean_wait_s > 0


def test_same_seed_same_prediction_and_seed_matters(paper: Scenario) -> None:
    params = _config(paper)
    state = _state(paper, 1)
    first = RoundOracle(params, replicas=32, seed=5).predict(state, "BigFoot", 50.0)
    again = RoundOracle(params, replicas=32, seed=5).predict(state, "BigFoot", 50.0)
    other = RoundOracle(params, replicas=32, seed=6).predict(state, "BigFoot", 50.0)
    assert first == again
    assert first != other


def test_protocol_ordering_matches_the_chain(paper: Scenario) -> None:
    """Everyone online and steady: BigFoot faster; the 2 faulty offline: IBFT faster."""
    oracle = RoundOracle(_config(paper), replicas=64, seed=0)
    for k, preset in ((0, "steady"), (1, "faulty")):
        state = _state(paper, k)
        predicted = {p: oracle.predict(state, p, 100.0).mean_wait_s for p in ("IBFT", "BigFoot")}
        scenario = load_scenario(preset, 200.0, seed=1)
        measured = {p: run_chain(scenario, p, 200.0, seed=1).metrics for p in ("IBFT", "BigFoot")}
        oracle_best = min(predicted, key=predicted.get)
        chain_best = min(measured, key=lambda p: measured[p].mean_tx_latency_s)
        assert oracle_best == chain_best == ("BigFoot" if preset == "steady" else "IBFT")
        # the chain's throughput agrees: the faster protocol drains the pool at least as fast
        assert measured[chain_best].throughput_tps >= measured[
            "IBFT" if chain_best == "BigFoot" else "BigFoot"
        ].throughput_tps - 1.0


def test_batched_states_keep_their_order(paper: Scenario) -> None:
    oracle = RoundOracle(_config(paper), replicas=16, seed=0)
    steady, faulty = _state(paper, 0), _state(paper, 1)
    both = oracle.predict_many([steady, faulty], "IBFT", 60.0)
    assert both[0].mean_tx_latency_s < both[1].mean_tx_latency_s
    assert both[0].throughput_tps > both[1].throughput_tps


@pytest.mark.parametrize("n", range(1, 17))
def test_selection_network_equals_sort(n: int) -> None:
    """Batcher's network sorts exactly; every pruned single-rank network selects exactly."""
    from dtopt.twin.network import SelectionNetwork, batcher_comparators

    rng = np.random.default_rng(n)
    values = rng.random((n, 300)).astype(np.float32)
    values[rng.random(values.shape) < 0.1] = np.inf  # missing votes
    values[:, :50] = np.round(values[:, :50] * 3)  # ties
    expected = np.sort(values, axis=0)
    wires = values.copy()
    for i, j in batcher_comparators(n):
        wires[i], wires[j] = np.minimum(wires[i], wires[j]), np.maximum(wires[i], wires[j])
    np.testing.assert_array_equal(wires, expected)
    for rank in range(n):
        (got,) = SelectionNetwork(n, [rank]).select(values.copy())
        np.testing.assert_array_equal(got, expected[rank])
    network = SelectionNetwork(n, [n - 1, (n - 1) // 2])
    for rank, got in zip(network.ranks, network.select(values.copy()), strict=True):
        np.testing.assert_array_equal(got, expected[rank])
    with pytest.raises(DtoptError, match="ranks"):
        SelectionNetwork(n, [n])


def test_network_and_partition_predict_identically(paper: Scenario) -> None:
    params = _config(paper)
    for k in (0, 1):
        state = _state(paper, k, backlog_tx=300, backlog_age_s=4.0, round_elapsed_s=1.0)
        for protocol in ("IBFT", "BigFoot"):
            fast, ref = (
                RoundOracle(params, replicas=32, seed=2, order_statistics=m).predict(state, protocol, 60.0)
                for m in ("network", "partition")
            )
            assert fast == ref
    with pytest.raises(DtoptError, match="order_statistics"):
        RoundOracle(params, order_statistics="sort")
