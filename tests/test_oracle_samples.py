"""The oracle as the configuration search's cost function: batched per-replica samples of many
configurations on common random numbers, and the evaluator the decider calls."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dtopt.consensus import Scenario, load_scenario, uniform_scenario
from dtopt.consensus.chain import run_chain
from dtopt.consensus.columns import ConfigColumns
from dtopt.consensus.config import ChainConfig
from dtopt.errors import DtoptError
from dtopt.twin import OracleState, RoundOracle
from dtopt.twin.config_search import ConfigurationDecider, ConfigurationDecision, ConfigurationSpace
from dtopt.twin.config_search.chain_configs import chain_config, chain_configs
from dtopt.twin.config_search.oracle_cost import oracle_evaluator

KEYS = ("tx_latency_s", "throughput_tps", "wait_s", "blocks")


@pytest.fixture(scope="module")
def paper() -> Scenario:
    return load_scenario("paper", 200.0, seed=1)


def _state(scenario: Scenario, k: int, **changes: object) -> OracleState:
    regime = scenario.regimes[k]
    return OracleState(
        online=np.array([name not in regime.offline for name in scenario.producers]),
        bandwidth_mbps=np.array(regime.bandwidth_mbps), tx_rate_per_s=regime.tx_rate_per_s,
        jitter_s=regime.jitter_s, **changes,
    )


def _configs(base: ChainConfig) -> list[ChainConfig]:
    space = ConfigurationSpace(max_block_sizes_mb=(0.5, 2.0), min_block_intervals_s=(0.1, 1.5),
                               round_timeouts_s=(3.0, 10.0))
    return list(chain_configs(space.batch(), base))


@pytest.mark.parametrize("k", [0, 1])  # a steady regime and a faulty, jittery one
def test_batched_samples_equal_each_configuration_alone(paper: Scenario, k: int) -> None:
    oracle = RoundOracle(paper.config)
    state = _state(paper, k, backlog_tx=120, backlog_age_s=2.0, next_height=6, round_elapsed_s=0.5)
    configs = _configs(paper.config)
    batched = oracle.sample(state, configs, 25.0, 6, seed=11)
    for i, config in enumerate(configs):
        alone = oracle.sample(state, [config], 25.0, 6, seed=11)
        for key in KEYS:
            np.testing.assert_array_equal(getattr(alone, key)[0], getattr(batched, key)[i], err_msg=key)
    # another order and a subset: the same rows
    order = [5, 12, 0, 9]
    subset = oracle.sample(state, [configs[i] for i in order], 25.0, 6, seed=11)
    for key in KEYS:
        np.testing.assert_array_equal(getattr(subset, key), getattr(batched, key)[order])
    # the configurations differ (the test would pass trivially otherwise) and so do seeds
    assert len({tuple(row) for row in batched.tx_latency_s.round(9)}) > 4
    other = oracle.sample(state, configs, 25.0, 6, seed=12)
    assert not np.array_equal(other.tx_latency_s, batched.tx_latency_s)
    assert json.loads(subset.to_json())["max_block_mb"] == [configs[i].max_block_mb for i in order]


def test_samples_agree_with_predictions(paper: Scenario) -> None:
    """Common random numbers change the random streams, not the model: the mean over replicas
    matches predict() (its own streams) within Monte Carlo noise."""
    for k in (0, 1):
        state = _state(paper, k)
        for protocol in ("IBFT", "BigFoot"):
            config = paper.config.replace(protocol=protocol)
            prediction = RoundOracle(config, replicas=256, seed=3).predict(state, protocol, 25.0)
            samples = RoundOracle(config).sample(state, [config], 25.0, 256, seed=4)
            assert samples.throughput_tps.mean() == pytest.approx(prediction.throughput_tps, rel=0.03)
            assert samples.wait_s.mean() == pytest.approx(prediction.mean_wait_s, rel=0.05)
            assert samples.blocks.mean() == pytest.approx(prediction.mean_blocks, rel=0.03)


def test_a_replica_that_commits_nothing_gets_a_finite_stand_in(paper: Scenario) -> None:
    online = np.zeros(10, dtype=bool)
    online[:5] = True  # below every quorum
    state = _state(paper, 0, backlog_tx=40, backlog_age_s=3.0).with_(online=online)
    samples = RoundOracle(paper.config).sample(state, _configs(paper.config)[:3], 20.0, 4)
    assert np.all(samples.throughput_tps == 0.0) and np.all(samples.blocks == 0)
    np.testing.assert_array_equal(samples.tx_latency_s, 23.0)  # horizon + the backlog's age
    assert np.all(np.isfinite(samples.wait_s)) and np.all(samples.wait_s > 0)


def test_config_columns_share_the_rules_and_refuse_mixtures(paper: Scenario) -> None:
    for rule in ("block_tx", "proposal_start_s", "round_timer_s", "commit_send_time_s"):
        assert getattr(ConfigColumns, rule) is getattr(ChainConfig, rule)  # one statement of each rule
    configs = _configs(paper.config)
    columns = ConfigColumns.of(configs[:8], repeat=3)
    assert columns.block_capacity_tx.tolist() == [c.block_capacity_tx for c in configs[:8]] * 3
    assert columns.votes_carry_block is paper.config.votes_carry_block
    with pytest.raises(DtoptError, match="share the protocol"):
        ConfigColumns.of([configs[0], configs[-1]], repeat=1)  # IBFT and BigFoot
    with pytest.raises(DtoptError, match="share the protocol"):
        ConfigColumns.of([configs[0], configs[0].replace(tx_size_mb=0.01)], repeat=1)


def test_sample_rejects_bad_input(paper: Scenario) -> None:
    oracle = RoundOracle(paper.config)
    state = _state(paper, 0)
    small = load_scenario("steady", 200.0, seed=1).config.replace(validators=("bp0", "bp1", "bp2", "bp3"))
    for bad, match in (
        ({"configs": []}, "ChainConfigs"), ({"configs": [small]}, "10 validators"),
        ({"replicas": 0}, "replicas"), ({"horizon_s": -1.0}, "horizon_s"), ({"seed": -1}, "seed"),
        ({"state": "x"}, "OracleState"), ({"replicas": 4000, "horizon_s": 1000.0}, "arrival times"),
    ):
        kwargs = {"state": state, "configs": [paper.config], "horizon_s": 25.0, "replicas": 4, **bad}
        with pytest.raises(DtoptError, match=match):
            oracle.sample(**kwargs)


def test_chain_configs_apply_the_chains_change_rule(paper: Scenario) -> None:
    base = paper.config  # fast path 5 s
    space = ConfigurationSpace(protocols=("BigFoot",), max_block_sizes_mb=(2.0,),
                               min_block_intervals_s=(0.5,), round_timeouts_s=(3.0, 20.0))
    short, long = chain_configs(space.batch(), base)
    assert (short.max_block_mb, short.min_block_interval_s, short.round_timeout_s) == (2.0, 0.5, 3.0)
    # the chain's rule for a change (ChainConfig.switched): the fast path keeps its ratio 5 s / 10 s
    assert short.fast_path_timeout_s == 1.5 and long.fast_path_timeout_s == 10.0
    assert chain_config(space[1], base) == long == base.switched(**space[1].to_dict())


# --------------------------------------------------------------------------- the evaluator

SMALL = ConfigurationSpace(max_block_sizes_mb=(0.05, 1.0, 2.0), min_block_intervals_s=(0.1, 1.0),
                           round_timeouts_s=(3.0, 10.0))  # 24 configurations; 0.05 MB = 10 tx per block


@pytest.mark.parametrize(("k", "rate"), [(0, 50.0), (1, 50.0)])
def test_halving_finds_the_exhaustive_optimum_and_honours_the_rate(
    paper: Scenario, k: int, rate: float
) -> None:
    """Steady: several configurations keep up, the fastest wins. Faulty: none keeps up with 50 tx/s
    over the 25 s horizon, the highest throughput wins."""
    oracle = RoundOracle(paper.config)
    state = _state(paper, k, backlog_tx=100, backlog_age_s=2.0)
    decider = ConfigurationDecider(replicas=24, eta=4)

    def decide(method: str, seed: int) -> ConfigurationDecision:
        evaluate = oracle_evaluator(oracle, state, 25.0, paper.config, seed=seed)
        return decider.decide(SMALL, evaluate, rate, method)

    exhaustive = decide("exhaustive", 0)
    by_config = {e.configuration: e for e in exhaustive.estimates}
    best = exhaustive.chosen
    assert best.meets_rate == (k == 0)
    for e in exhaustive.estimates:  # a block of 10 tx per second cannot keep up
        if e.configuration.max_block_size_mb == 0.05 and e.configuration.min_block_interval_s == 1.0:
            assert not e.meets_rate
    for seed in (1, 2, 3):
        halving = decide("halving", seed)
        assert halving.budget_fraction <= 0.25
        assert halving.configuration.max_block_size_mb > 0.05
        chosen = by_config[halving.configuration]
        if best.meets_rate:
            assert chosen.meets_rate
            assert chosen.mean_latency_s <= 1.01 * best.mean_latency_s
        else:
            assert chosen.mean_throughput_tps >= 0.98 * best.mean_throughput_tps  # 24 replicas' noise
    assert decide("halving", 1).to_dict() == decide("halving", 1).to_dict()  # deterministic per seed


def test_evaluator_draws_fresh_randomness_and_weighs_states(paper: Scenario) -> None:
    oracle = RoundOracle(paper.config)
    steady, faulty = _state(paper, 0), _state(paper, 1)
    batch = SMALL.batch(np.arange(6, 12))
    evaluate = oracle_evaluator(oracle, steady, 25.0, paper.config, seed=5)
    first, second = evaluate(batch, 4), evaluate(batch, 4)
    assert first[0].shape == (6, 4) and not np.array_equal(first[0], second[0])
    assert np.array_equal(oracle_evaluator(oracle, steady, 25.0, paper.config, seed=5)(batch, 4)[0], first[0])
    mixed = oracle_evaluator(oracle, [(steady, 1.0), (faulty, 3.0)], 25.0, paper.config, criterion="latency")
    alone = [oracle_evaluator(oracle, s, 25.0, paper.config, criterion="latency")(batch, 4)
             for s in (steady, faulty)]
    for got, a, b in zip(mixed(batch, 4), *alone, strict=True):
        np.testing.assert_allclose(got, 0.25 * a + 0.75 * b, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"criterion": "median"}, "criterion"), ({"state": []}, "OracleState"),
     ({"state": [("x", 1.0)]}, "OracleState"), ({"seed": -2}, "seed"), ({"oracle": "o"}, "RoundOracle")],
)
def test_evaluator_rejects_bad_input(paper: Scenario, kwargs: dict, match: str) -> None:
    args = {"oracle": RoundOracle(paper.config), "state": _state(paper, 0), "horizon_s": 25.0,
            "base": paper.config, **kwargs}
    with pytest.raises(DtoptError, match=match):
        oracle_evaluator(**args)


def test_evaluator_rejects_bad_weights(paper: Scenario) -> None:
    state = _state(paper, 0)
    for weights in ((0.0, 0.0), (1.0, -1.0), (1.0, float("nan"))):
        with pytest.raises(DtoptError, match="weights"):
            oracle_evaluator(RoundOracle(paper.config), list(zip((state, state), weights, strict=True)), 25.0,
                             paper.config)


@pytest.mark.parametrize("round_timer", ["fixed", "doubling"])
def test_a_round_too_slow_for_its_timeout_livelocks_as_on_the_chain(round_timer: str) -> None:
    """At 150 tx/s on 1 MB/s links, 4 MB blocks take longer than a 3 s round timeout: under the
    fixed timer the chain changes round forever (the collapse) and the oracle must see it; the
    doubling timer commits them in a later round, in both. 1 MB / 10 s keep up."""
    configs, measured = [], []
    for block_mb, timeout_s in ((4.0, 3.0), (1.0, 10.0)):
        scenario = uniform_scenario(10, tx_rate_per_s=150.0, jitter_s=0.01, max_block_mb=block_mb,
                                    round_timeout_s=timeout_s, fast_path_timeout_s=min(5.0, timeout_s / 2),
                                    round_timer=round_timer)
        configs.append(scenario.config)
        measured.append(run_chain(scenario, "IBFT", 200.0, 1).metrics.throughput_tps)
    state = OracleState(online=np.ones(10, dtype=bool), bandwidth_mbps=np.ones(10), tx_rate_per_s=150.0,
                        jitter_s=0.01)
    predicted = RoundOracle(configs[0]).sample(state, configs, 200.0, 16).throughput_tps.mean(axis=1)
    if round_timer == "fixed":
        assert measured[0] < 5.0 and predicted[0] < 5.0
    else:
        assert measured[0] > 50.0 and predicted[0] == pytest.approx(measured[0], rel=0.10)
    assert measured[1] > 75.0 and predicted[1] == pytest.approx(measured[1], rel=0.05)
