"""Larger chains: the presets at 31 and 64 validators, and the chain, oracle and twin at 4 to 64."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from dtopt.cli import main as cli_main
from dtopt.consensus import SCENARIOS, Chain, fault_tolerance, load_scenario, run_chain
from dtopt.consensus.presets import PRESET_KINDS, preset_scenario
from dtopt.errors import DtoptError
from dtopt.twin import DigitalTwin, RoundOracle
from tests.test_oracle import _state as regime_state


@pytest.mark.parametrize("n", [31, 64])
def test_large_presets_are_the_paper_experiment_with_more_validators(n: int) -> None:
    assert {f"{kind}-{n}" for kind in PRESET_KINDS} <= set(SCENARIOS)
    paper = load_scenario(f"paper-{n}", 400.0, seed=2)
    assert paper.producers == tuple(f"bp{i}" for i in range(n)) == paper.nodes
    # the paper's share of faulty producers (2 of 10): the last fifth, within f
    assert paper.faulty == paper.producers[n - round(n / 5):]
    assert 0 < len(paper.faulty) <= fault_tolerance(n)
    assert [r.offline for r in paper.regimes] == [(), paper.faulty, (), paper.faulty]
    assert all(len(r.bandwidth_mbps) == n for r in paper.regimes)
    assert paper.propagation_s.shape == (n, n)
    assert all(not r.offline for r in load_scenario(f"steady-{n}", 400.0).regimes)
    assert all(r.offline == paper.faulty for r in load_scenario(f"faulty-{n}", 400.0).regimes)
    again = load_scenario(f"paper-{n}", 400.0, seed=2)
    assert again.regimes == paper.regimes and np.array_equal(again.propagation_s, paper.propagation_s)


def test_preset_sizes_and_kinds_are_validated() -> None:
    with pytest.raises(DtoptError, match="at least 4 validators"):
        preset_scenario("paper", 100.0, validators=3)
    with pytest.raises(DtoptError, match="unknown preset kind"):
        preset_scenario("calm", 100.0)
    with pytest.raises(DtoptError, match="unknown scenario 'paper-32'"):
        load_scenario("paper-32")


@pytest.mark.parametrize("n", [31, 64])
def test_large_chains_are_safe_and_live_through_outages_and_switches(n: int) -> None:
    # the fixed timer: under the doubling one the faulty fifth, consecutive in the rotation,
    # costs 10 + 20 + 40 + 80 + 80 ... s per height, and 200 s see few heights
    scenario = load_scenario(f"paper-{n}", 200.0, seed=3).with_(round_timer="fixed")
    chain = Chain(scenario, "IBFT", seed=3)
    for t_s, protocol in ((60.0, "BigFoot"), (130.0, "IBFT")):
        chain.run_until(t_s)  # the second request lands while the faulty fifth is offline
        for producer in set(scenario.producers) - set(scenario.regime_at(t_s).offline):
            chain.request_switch(protocol, producer)  # the first to propose carries it
    chain.run_until(200.0)
    chains = [chain.committed_chain(node) for node in scenario.nodes]
    longest = max(chains, key=len)
    assert all(own == longest[: len(own)] for own in chains), "conflicting commits"
    assert chain.safety_violations == 0
    blocks = chain.view(0.0, 200.0).blocks
    assert [b.height for b in blocks] == list(range(len(blocks)))
    protocols = [b.protocol for b in blocks]
    assert protocols[0] == "IBFT" and "BigFoot" in protocols and chain.protocol == "IBFT"
    assert any(b.committed_s > 150.0 for b in blocks)  # still committing with the faulty fifth down


@pytest.mark.parametrize("n", [4, 10, 31, 64])
def test_oracle_predicts_commits_at_every_size(n: int) -> None:
    scenario = preset_scenario("paper", 200.0, seed=1, validators=n)
    oracle = RoundOracle(scenario.config, replicas=32, seed=1)
    for k in (0, 1):  # everyone online; the faulty fifth offline on a jittery network
        state = regime_state(scenario, k)
        for protocol in ("IBFT", "BigFoot"):
            prediction = oracle.predict(state, protocol, 25.0)
            assert prediction.mean_blocks > 0 and np.isfinite(prediction.mean_tx_latency_s)


@pytest.mark.parametrize("n", [4, 10, 31, 64])
def test_twin_manages_chains_of_every_size(n: int, caplog: pytest.LogCaptureFixture) -> None:
    scenario = preset_scenario("paper", 150.0, seed=4, validators=n)
    twin = DigitalTwin.from_scenario(scenario, replicas=32, seed=4)
    with caplog.at_level(logging.WARNING, logger="dtopt.twin"):
        run = run_chain(scenario, "IBFT", 150.0, seed=4, controller=twin)
    assert len(twin.records) == 5 and all(r.error is None for r in twin.records)
    assert run.chain.safety_violations == 0 and run.metrics.n_blocks > 10


def test_twin_cli_runs_a_large_preset(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["twin", "run", "--scenario", "paper-31", "--duration", "60", "--replicas", "32", "--json"]
    assert cli_main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scenario"] == "paper-31" and len(out["decisions"]) == 2
