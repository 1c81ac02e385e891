"""DPoS in the message-level chain: safety, liveness, finality by rule, election, switching,
and the oracle's agreement with it."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dtopt.cli
from benchmarks.common.output import run_main
from benchmarks.consensus import dpos as dpos_benchmark
from benchmarks.consensus.fidelity import EstimateRecorder, fidelity_rows
from benchmarks.consensus.hindsight import true_state
from benchmarks.consensus.oracle_fidelity import scenario as fidelity_scenario
from dtopt.consensus import (
    Chain,
    ChainConfig,
    Regime,
    Scenario,
    chain_metrics,
    random_propagation_s,
    run_chain,
)
from dtopt.consensus.delegates import elect, next_own_slot, slot_producer
from dtopt.consensus.loading import load_scenario
from dtopt.consensus.protocols import DPOS, fault_tolerance
from dtopt.errors import DtoptError
from dtopt.twin import DigitalTwin, OracleState, RoundOracle
from dtopt.twin.config_search import ConfigurationSpace


def _scenario(n: int, offline_sets: list[tuple[str, ...]], *, period_s: float, jitter_s: float,
              bandwidth_mbps: float, seed: int, **fields) -> Scenario:
    names = tuple(f"bp{i}" for i in range(n))
    regimes = tuple(
        Regime(start_s=k * period_s, offline=offline, bandwidth_mbps=(bandwidth_mbps,) * n,
               tx_rate_per_s=30.0, jitter_s=jitter_s)
        for k, offline in enumerate(offline_sets)
    )
    fields.setdefault("propagation_s", random_propagation_s(n, seed))
    return Scenario(nodes=names, producers=names, regimes=regimes, **fields)


def _checked_safe(chain: Chain) -> list[tuple[int, ...]]:
    """Every validator's final chain is a prefix of the longest; published heights are consecutive."""
    chains = [chain.committed_chain(v) for v in chain.scenario.producers]
    longest = max(chains, key=len)
    assert all(own == longest[: len(own)] for own in chains), "conflicting final blocks"
    assert chain.safety_violations == 0
    blocks = chain.view(0.0, chain.now_s).blocks
    assert [b.height for b in blocks] == list(range(len(blocks)))
    return chains


def _offline_sets(rng: np.random.Generator, n: int, count: int) -> list[tuple[str, ...]]:
    """``count`` random offline sets of at most f of the ``n`` delegates."""
    names = [f"bp{i}" for i in range(n)]
    f = fault_tolerance(n)
    return [tuple(rng.choice(names, size=int(rng.integers(0, f + 1)), replace=False).tolist())
            for _ in range(count)]


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    n=st.sampled_from([4, 5, 7, 10]),
    seed=st.integers(0, 10_000),
    jitter_s=st.sampled_from([0.0, 0.05, 0.5, 2.0]),
    slot_s=st.sampled_from([0.3, 1.0, 3.0]),
    changes=st.integers(2, 6),
)
def test_no_conflicting_final_blocks_with_at_most_f_delegates_offline(
        n: int, seed: int, jitter_s: float, slot_s: float, changes: int) -> None:
    # Any offline sets of at most f delegates, changing over time; short slots and heavy
    # jitter make blocks slower than a slot, so delegates fork and switch to longer chains.
    rng = np.random.default_rng(seed)
    scenario = _scenario(n, _offline_sets(rng, n, changes), period_s=20.0, jitter_s=jitter_s,
                         bandwidth_mbps=float(rng.uniform(0.5, 3)), seed=seed, slot_s=slot_s)
    chain = Chain(scenario, "DPoS", seed=seed)
    chain.run_until(20.0 * changes)
    _checked_safe(chain)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(n=st.sampled_from([4, 5, 7, 10]), seed=st.integers(0, 10_000), jitter_s=st.sampled_from([0.0, 0.05]),
       changes=st.integers(2, 5))
def test_progress_with_at_most_f_delegates_offline(n: int, seed: int, jitter_s: float, changes: int) -> None:
    # Liveness needs a block to reach the next delegates within a slot (DPoS's synchrony
    # assumption): here at most (0.2 + 90 x 0.005) MB / 0.5 MB/s + 0.05 + 0.5 s < 3 s.
    rng = np.random.default_rng(seed)
    scenario = _scenario(n, _offline_sets(rng, n, changes), period_s=40.0, jitter_s=jitter_s,
                         bandwidth_mbps=float(rng.uniform(0.5, 3)), seed=seed, slot_s=3.0)
    chain = Chain(scenario, "DPoS", seed=seed)
    last_s = 0.0
    for k in range(changes):  # a block becomes final within every regime
        chain.run_until(40.0 * (k + 1))
        blocks = chain.view(0.0, chain.now_s).blocks
        assert blocks and blocks[-1].committed_s > last_s, f"no block final in regime {k}"
        last_s = blocks[-1].committed_s
    _checked_safe(chain)
    online = [v for v in scenario.producers if v not in scenario.regimes[-1].offline]
    # the online ones learn every final block within a block's delay (a few seconds here)
    known = sum(b.committed_s <= chain.now_s - 5.0 for b in blocks)
    assert min(len(chain.committed_chain(v)) for v in online) >= known


def test_a_block_is_final_when_more_than_two_thirds_of_the_delegates_produced_on_top_of_it() -> None:
    # 4 delegates, 1 s slots, a fast network: bp1 is offline, so slot 1 stays empty. The block
    # of slot 0 (bp0) is final once 3 delegates produced on top of it: bp2 (slot 2), bp3 (3)
    # and bp0 again (slot 4), at slot 4's send time (start + 0.1 s to create).
    scenario = _scenario(4, [("bp1",)], period_s=100.0, jitter_s=0.0, bandwidth_mbps=100.0, seed=0,
                         slot_s=1.0, propagation_s=np.full((4, 4), 0.001) - np.eye(4) * 0.001)
    run = run_chain(scenario, "DPoS", 9.0, seed=1)
    blocks = run.view.blocks
    assert [(b.height, b.proposer, b.proposed_s) for b in blocks[:3]] == [
        (0, "bp0", 0.1), (1, "bp2", 2.1), (2, "bp3", 3.1)]
    first = blocks[0]
    assert first.committed_s == pytest.approx(4.1)
    assert [(v.validator, v.phase, v.sent_s) for v in first.votes] == [
        ("bp2", "BLOCK", 2.1), ("bp3", "BLOCK", 3.1), ("bp0", "BLOCK", 4.1)]
    # bp2's block: confirmed by bp3 (3), bp0 (4), then bp2 (6): slot 5 is bp1's, empty
    assert blocks[1].committed_s == pytest.approx(6.1)
    assert blocks[2].committed_s == pytest.approx(7.1)  # bp0 (4), bp2 (6), bp3 (7)
    assert all(b.protocol == "DPoS" and b.round == 0 for b in blocks)
    # every transaction's latency runs to its block's finality
    assert run.metrics.mean_tx_latency_s == pytest.approx(
        np.mean(np.concatenate([b.committed_s - b.tx_arrival_s for b in blocks])))


def test_with_more_than_f_delegates_offline_nothing_becomes_final() -> None:
    scenario = _scenario(4, [("bp1", "bp2")], period_s=100.0, jitter_s=0.0, bandwidth_mbps=10.0, seed=0,
                         slot_s=1.0)
    run = run_chain(scenario, "DPoS", 60.0, seed=1)
    assert run.metrics.n_blocks == 0


def test_stake_elects_the_delegates_and_equal_stake_rotates_them() -> None:
    names = tuple(f"bp{i}" for i in range(6))
    config = ChainConfig(validators=names, protocol="DPoS", stake=(1, 5, 3, 2, 0, 4), delegates=3)
    assert all(elect(config, e) == (1, 2, 5) for e in range(5))
    assert {slot_producer(config, k) for k in range(30)} == {1, 2, 5}
    assert next_own_slot(config, 0, 0) is None
    equal = ChainConfig(validators=names, protocol="DPoS", delegates=3, epoch_slots=6)
    sets = {elect(equal, e) for e in range(20)}
    assert len(sets) > 3 and all(len(s) == 3 for s in sets)
    scenario = _scenario(6, [()], period_s=100.0, jitter_s=0.0, bandwidth_mbps=10.0, seed=0,
                         protocol="DPoS", stake=(1, 5, 3, 2, 0, 4), delegates=3, slot_s=1.0)
    run = run_chain(scenario, duration_s=40.0, seed=0)
    assert {b.proposer for b in run.view.blocks} == {"bp1", "bp2", "bp5"}
    # three delegates: final after 3 * 2 // 3 + 1 = 3 of them produced on top
    assert DPOS.confirmation_quorum(3) == 3 and DPOS.confirmation_quorum(10) == 7


@pytest.mark.parametrize("bad", [{"delegates": 0}, {"delegates": 7}, {"epoch_slots": 0}, {"slot_s": 0.0},
                                 {"stake": (1.0, 2.0)}, {"stake": (0.0,) * 6},
                                 {"stake": (1, 1, 1, 1, 1, -1)}])
def test_bad_dpos_fields_are_refused_with_one_line(bad: dict) -> None:
    with pytest.raises(DtoptError) as err:
        ChainConfig(validators=tuple(f"bp{i}" for i in range(6)), **bad)
    assert "\n" not in str(err.value)


def test_switching_to_and_from_dpos_through_blocks() -> None:
    rng = np.random.default_rng(5)
    for seed in range(6):
        n = int(rng.choice([4, 7]))
        offline = [(), (f"bp{seed % n}",), (), (), ()]
        scenario = _scenario(n, offline, period_s=40.0, jitter_s=float(rng.choice([0.0, 0.2])),
                             bandwidth_mbps=1.0, seed=seed, slot_s=2.0)
        chain = Chain(scenario, "IBFT", seed=seed)
        for protocol in ("DPoS", "BigFoot", "DPoS", "IBFT"):
            chain.run_until(chain.now_s + 10.0)
            online = [p for p in scenario.producers if p not in scenario.regime_at(chain.now_s).offline]
            chain.request_config(str(rng.choice(online)), protocol=protocol)
            deadline_s = chain.now_s + 60.0
            while chain.protocol != protocol and chain.now_s < deadline_s:
                chain.run_until(chain.now_s + 1.0)
            assert chain.protocol == protocol, f"seed {seed}: no switch to {protocol}"
        chain.run_until(chain.now_s + 10.0)
        _checked_safe(chain)
        blocks = chain.view(0.0, chain.now_s).blocks
        assert [b.switch_to for b in blocks if b.switch_to] == ["DPoS", "BigFoot", "DPoS", "IBFT"]
        # each block runs the protocol its predecessors' switches put in force
        for before, after in itertools.pairwise(blocks):
            assert after.protocol == (before.switch_to or before.protocol)
        assert blocks[-1].protocol == "IBFT" and blocks[-1].committed_s > chain.now_s - 5.0


@pytest.mark.parametrize("offline", [(), ("bp2",), ("bp6", "bp5")])  # bp6 is never elected
def test_oracle_predicts_every_dpos_finality_time_of_the_chain(offline: tuple[str, ...]) -> None:
    # No jitter and blocks that arrive within a slot: the schedule decides every finality time.
    scenario = _scenario(7, [offline], period_s=100.0, jitter_s=0.0, bandwidth_mbps=1.0, seed=3, slot_s=2.0,
                         epoch_slots=5, delegates=6, stake=(1, 1, 1, 1, 1, 1, 0.5))
    commits = [b.committed_s for b in run_chain(scenario, "DPoS", 60.0, seed=1).view.blocks]
    assert len(commits) > 10
    oracle = RoundOracle(scenario.config, replicas=1)
    state = OracleState(online=np.array([p not in offline for p in scenario.producers]),
                        bandwidth_mbps=np.ones(7), tx_rate_per_s=30.0)
    for k, commit_s in enumerate(commits, start=1):
        prediction = oracle.predict(state, "DPoS", commit_s + 1e-3)
        assert prediction.mean_blocks == k
        assert prediction.mean_interblock_s * k == pytest.approx(commit_s, abs=1e-9)


def test_chain_and_oracle_agree_within_10_percent_per_steady_regime_for_dpos() -> None:
    scenario = fidelity_scenario(10, 300.0)
    recorder = EstimateRecorder(scenario.config)
    run = run_chain(scenario, "DPoS", 300.0, seed=1, controller=recorder)
    rows = [r for r in fidelity_rows(scenario, {"DPoS": run}, {"DPoS": recorder}, seed=1, replicas=64)
            if r["window"] == "steady"]
    assert {r["offline"] > 0 for r in rows} == {False, True}  # a steady and a faulty regime
    oracle = RoundOracle(scenario.config, replicas=64, seed=1)
    for row in rows:
        assert abs(row["error_true"]) <= 0.10, row
        window = run.chain.view(row["start_s"], row["end_s"])
        truth = true_state(run.chain, scenario, row["start_s"])
        predicted = oracle.predict(truth, "DPoS", row["end_s"] - row["start_s"]).throughput_tps
        assert predicted == pytest.approx(chain_metrics(window).throughput_tps, rel=0.10)


def test_chain_run_json_reports_dpos_with_the_fields_of_the_bft_protocols(capsys) -> None:
    reports = {}
    for protocol in ("IBFT", "DPoS"):
        assert dtopt.cli.main(["chain", "run", "--scenario", "steady", "--protocol", protocol.lower(),
                               "--duration", "120", "--json"]) == 0
        reports[protocol] = json.loads(capsys.readouterr().out)
    assert reports["DPoS"].keys() == reports["IBFT"].keys()
    dpos = reports["DPoS"]
    assert dpos["protocol"] == "DPoS" and dpos["n_blocks"] > 20
    assert dpos["blocks_per_protocol"] == {"IBFT": 0, "BigFoot": 0, "DPoS": dpos["n_blocks"]}


def test_oracle_predicts_no_finality_with_more_than_f_delegates_offline() -> None:
    config = ChainConfig(validators=tuple(f"bp{i}" for i in range(4)), protocol="DPoS", slot_s=1.0)
    state = OracleState(online=np.array([True, False, False, True]), bandwidth_mbps=np.ones(4),
                        tx_rate_per_s=20.0, backlog_tx=40, backlog_age_s=5.0, now_s=100.0)
    with np.errstate(all="raise"):
        prediction = RoundOracle(config, replicas=8).predict(state, "DPoS", 30.0)
    assert prediction.mean_blocks == 0 and prediction.throughput_tps == 0.0
    assert prediction.mean_tx_latency_s == float("inf")
    assert prediction.mean_wait_s == pytest.approx((40 * 30 + 20 * 30**2 / 2) / (40 + 20 * 30))


@pytest.mark.parametrize("space", [None, "protocol=IBFT,BigFoot,DPoS;block=1;interval=0.1;timeout=10"])
def test_the_twin_over_three_protocols_leaves_dpos_on_a_steady_network(space: str | None) -> None:
    scenario = load_scenario("steady", 300.0, seed=2)
    twin = DigitalTwin.from_scenario(
        scenario, replicas=16, seed=2, protocols=("IBFT", "BigFoot", "DPoS"),
        space=None if space is None else ConfigurationSpace.parse(space))
    run = run_chain(scenario, "DPoS", 300.0, seed=2, controller=twin)
    assert run.chain.safety_violations == 0
    blocks = run.view.blocks
    assert blocks[0].protocol == "DPoS" and blocks[-1].protocol in ("IBFT", "BigFoot")
    assert run.metrics.blocks_per_protocol["DPoS"] < len(blocks) / 5
    if space is None:  # every interval ranks all three
        assert all(set(r.predicted_score_s) == {"IBFT", "BigFoot", "DPoS"} for r in twin.records)


def test_a_backlog_sits_in_tentative_blocks_only_while_dpos_is_in_force() -> None:
    config = ChainConfig(validators=tuple(f"bp{i}" for i in range(10)), protocol="DPoS")  # 3 s slots
    state = OracleState(online=np.ones(10, dtype=bool), bandwidth_mbps=np.ones(10), tx_rate_per_s=20.0,
                        backlog_tx=300, backlog_age_s=15.0, now_s=50.0)
    oracle = RoundOracle(config, replicas=16)
    predicted = {in_force: oracle.predict(state.with_(in_force=in_force), "DPoS", 40.0)
                 for in_force in (None, "DPoS", "IBFT")}
    assert predicted[None] == predicted["DPoS"]
    # from IBFT the backlog still has to be put in blocks and confirmed: it waits longer
    assert predicted["IBFT"].mean_wait_s > predicted["DPoS"].mean_wait_s + 1.0
    with pytest.raises(DtoptError):
        state.with_(in_force="PoW")


@pytest.mark.parametrize("argv", [["--seeds", "0"], ["--scenarios", "nope"], ["--duration", "-1"]])
def test_the_dpos_benchmark_refuses_bad_input_with_one_line(argv: list[str], capsys) -> None:
    assert run_main(dpos_benchmark.main, argv, prog="benchmarks.dpos") == 2
    err = capsys.readouterr().err
    assert err.startswith("benchmarks.dpos: error:") and err.count("\n") == 1


def test_the_dpos_benchmark_compares_statics_and_twins() -> None:
    strategies = dpos_benchmark.STRATEGIES
    runs = [dpos_benchmark.run_case(("steady", 1, strategy, 60.0, 8)) for strategy in strategies]
    rows = dpos_benchmark.summarise(runs)
    assert [r["strategy"] for r in rows] == list(strategies)
    assert all(r["latency_mean_s"] > 0 for r in rows)
    assert rows[2]["latency_mean_s"] > rows[0]["latency_mean_s"]  # DPoS's finality lag on a steady network
