"""The configuration twin: the whole configuration (protocol, block size, interval, timeout) per interval."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from dtopt.cli import main as cli_main
from dtopt.consensus.chain import run_chain
from dtopt.consensus.scenario import Scenario, uniform_scenario
from dtopt.consensus.view import BlockRecord
from dtopt.errors import DtoptError
from dtopt.twin import DigitalTwin, OracleState
from dtopt.twin.config_search import Configuration, ConfigurationDecider, ConfigurationSpace
from dtopt.twin.configure import changes, configuration_in_force, round_fits

# 1 MB/s everywhere and 120 tx/s: 1 MB blocks (200 tx, a round of about 2 s) cannot keep up;
# a 4 MB round takes about 5 s, so 4 MB blocks keep up under a 10 s timeout and livelock under 3 s.
SPACE = ConfigurationSpace.parse("protocol=IBFT;block=1,4;interval=0.1;timeout=3,10")


def _scenario(duration_s: float = 150.0, round_timer: str = "fixed") -> Scenario:
    # the fixed timer: a round too slow for its timeout livelocks (the doubling timer rides it out)
    return uniform_scenario(4, bandwidth_mbps=1.0, tx_rate_per_s=120.0, jitter_s=0.01,
                            twin_interval_s=25.0, state_period_s=duration_s, round_timer=round_timer)


def _run(seed: int = 1, duration_s: float = 150.0) -> tuple[DigitalTwin, object]:
    scenario = _scenario(duration_s)
    twin = DigitalTwin.from_scenario(scenario, replicas=32, seed=seed, space=SPACE)
    return twin, run_chain(scenario, "IBFT", duration_s, seed=seed, controller=twin)


@pytest.fixture(scope="module")
def livelock_run() -> tuple[DigitalTwin, object]:
    return _run()


def test_round_fits_sees_the_livelock() -> None:
    config = _scenario().config
    state = OracleState(online=np.ones(4, bool), bandwidth_mbps=np.ones(4), tx_rate_per_s=120.0)
    fits = round_fits(config, [state], SPACE.batch())[:, 0]
    labels = [c.label() for c in SPACE]
    assert dict(zip(labels, fits.tolist(), strict=True)) == {
        "IBFT 1 MB / 0.1 s / 3 s": True, "IBFT 1 MB / 0.1 s / 10 s": True,
        "IBFT 4 MB / 0.1 s / 3 s": False, "IBFT 4 MB / 0.1 s / 10 s": True,
    }
    no_quorum = state.with_(online=np.array([True, True, False, False]))
    assert not round_fits(config, [no_quorum], SPACE.batch()).any()
    doubling = _scenario(round_timer="doubling").config  # a later round's timer is long enough
    assert round_fits(doubling, [state], SPACE.batch()).all()


def test_twin_moves_to_large_blocks_but_not_into_the_livelock(livelock_run: tuple) -> None:
    twin, run = livelock_run
    decided = [r for r in twin.records if r.error is None]
    assert decided and decided[0].in_force_config == Configuration("IBFT", 1.0, 0.1, 10.0)
    assert decided[0].chosen_config == Configuration("IBFT", 4.0, 0.1, 10.0)
    assert decided[0].switched and decided[0].changes == {"max_block_mb": 4.0}
    assert all(r.chosen_config != Configuration("IBFT", 4.0, 0.1, 3.0) for r in decided)
    # the chain carried it: later blocks run 4 MB, and the twin learnt that from the blocks
    blocks = run.view.blocks
    assert blocks[0].max_block_mb == 1.0 and blocks[-1].max_block_mb == 4.0
    assert decided[-1].in_force_config == Configuration("IBFT", 4.0, 0.1, 10.0)
    assert run.metrics.throughput_tps > 100.0


def test_records_are_strict_json_with_the_pareto_set(livelock_run: tuple) -> None:
    twin, _ = livelock_run
    for record in twin.records:
        payload = json.loads(record.to_json())
        assert payload["chosen_estimate"]["max_block_size_mb"] in (1.0, 4.0)
        front = payload["pareto"]
        assert front and all(a["mean_latency_s"] <= b["mean_latency_s"] for a, b in pairwise(front))
        assert all(a["mean_throughput_tps"] < b["mean_throughput_tps"] for a, b in pairwise(front))


def test_same_seed_same_configuration_run(livelock_run: tuple) -> None:
    twin, run = livelock_run
    again, rerun = _run()
    assert [r.to_dict() for r in again.records] == [r.to_dict() for r in twin.records]
    assert rerun.metrics.to_dict() == run.metrics.to_dict()


def test_configuration_in_force_is_read_from_the_block() -> None:
    block = BlockRecord(height=3, round=0, proposer="v0", protocol="IBFT", proposed_s=1.0, committed_s=2.0,
                        tx_ids=np.zeros(0, dtype=np.int64), size_mb=0.5, max_block_mb=2.0,
                        min_block_interval_s=0.5, round_timeout_s=5.0)
    assert configuration_in_force(block) == Configuration("IBFT", 2.0, 0.5, 5.0)
    carrying = BlockRecord(**{**block.__dict__, "change": {"round_timeout_s": 20.0, "protocol": "BigFoot"},
                              "switch_to": "BigFoot"})
    assert configuration_in_force(carrying) == Configuration("BigFoot", 2.0, 0.5, 20.0)
    assert changes(Configuration("IBFT", 2.0, 0.5, 5.0), Configuration("IBFT", 4.0, 0.5, 3.0)) == {
        "max_block_mb": 4.0, "round_timeout_s": 3.0}


def test_protocol_only_twin_records_no_configuration() -> None:
    scenario = _scenario(60.0)
    twin = DigitalTwin.from_scenario(scenario, replicas=16, seed=1)
    run_chain(scenario, "IBFT", 60.0, seed=1, controller=twin)
    assert twin.records and all(r.chosen_config is None and r.pareto == () for r in twin.records)


@pytest.mark.parametrize(("space", "message"), [
    ("block=0.001", "holds no transaction"),
    ("timeout=0.05", "not longer than one message delay"),
])
def test_twin_rejects_a_space_the_chain_cannot_run(space: str, message: str) -> None:
    with pytest.raises(DtoptError, match=message):
        DigitalTwin.from_scenario(_scenario(), space=ConfigurationSpace.parse(space))
    with pytest.raises(DtoptError, match="needs a configuration space"):
        DigitalTwin.from_scenario(_scenario(), search=ConfigurationDecider())


@pytest.mark.parametrize(("space", "message"), [
    ("", "empty"),
    (";", "empty"),
    ("block=0.001", "holds no transaction"),
    ("timeout=0", "timeout"),
    ("timeout=-3", "timeout"),
    ("timeout=0.05", "message delay"),
    ("block=1,1", "duplicate"),
    ("protocol=IBFT,ibft", "duplicate"),
    ("colour=red", "unknown key"),
])
def test_cli_bad_space_is_one_line_and_exit_2(
    space: str, message: str, capsys: pytest.CaptureFixture
) -> None:
    assert cli_main(["twin", "run", "--duration", "60", "--space", space]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_cli_space_prints_the_configuration_timeline(capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["twin", "run", "--scenario", "paper", "--duration", "60", "--replicas", "16",
                     "--space", "protocol=IBFT,BigFoot;block=1,2;interval=0.1;timeout=5,10"]) == 0
    out = capsys.readouterr().out
    assert "IBFT 1 MB / 0.1 s / 10 s" in out and "pareto" in out and "mean tx latency" in out
    assert cli_main(["twin", "run", "--duration", "60", "--replicas", "16", "--json",
                     "--space", "block=1,2;interval=0.1;timeout=10"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["decisions"][0]["in_force_config"]["max_block_size_mb"] == 1.0


SCENARIO_TOML = """
nodes = ["a", "b", "c", "d"]
twin_interval_s = 20.0
{space}
[[regimes]]
start_s = 0.0
bandwidth_mbps = 1.0
tx_rate_per_s = 60.0
"""


def test_scenario_file_space_section(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "s.toml"
    section = 'space = {block = [1, 2], timeout = "5,10", interval = [0.1]}'
    path.write_text(SCENARIO_TOML.format(space=section))
    assert cli_main(["twin", "run", "--scenario", str(path), "--duration", "60", "--replicas", "16",
                     "--json"]) == 0
    decisions = json.loads(capsys.readouterr().out)["decisions"]
    assert decisions and all(d["chosen_estimate"]["max_block_size_mb"] in (1.0, 2.0) for d in decisions)
    path.write_text(SCENARIO_TOML.format(space='space = {block = [1, 1]}'))
    assert cli_main(["twin", "run", "--scenario", str(path), "--duration", "60"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "duplicate block sizes" in err


def test_benchmark_runs_the_configuration_twin(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from benchmarks import consensus

    out = tmp_path / "bench"
    assert consensus.main(["--scenario", "paper", "--seeds", "2", "--duration", "60", "--replicas", "8",
                           "--serial", "--space", "block=1,2;interval=0.1;timeout=5,10",
                           "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Config twin vs Dynamic: latency ratio" in text and "% of the mean arrival rate" in text
    payload = json.loads((out / "results.json").read_text())
    assert {r["strategy"] for r in payload["rows"]} >= {
        "Config twin", "Dynamic", "Clairvoyant", "Best static", "Clairvoyant space", "Bandit"}
    assert "Best static configuration in hindsight" in text
    assert payload["config_seed1"]["timeline"][0]["max_block_mb"] == 1.0
    assert (out / "config_timeline.png").exists() and (out / "config_pareto.png").exists()
    with pytest.raises(DtoptError, match="not longer than one message delay"):  # before any run
        consensus.main(["--seeds", "1", "--duration", "60", "--space", "timeout=0.01", "--out", str(out)])
    with pytest.raises(DtoptError, match="--config-strategies: choose among"):
        consensus.main(["--seeds", "1", "--duration", "60", "--space", "default", "--config-strategies",
                        "Config twin,Oracle", "--out", str(out)])
    with pytest.raises(DtoptError, match="--clairvoyant-shortlist must be >= 1"):
        consensus.main(["--seeds", "1", "--duration", "60", "--space", "default", "--clairvoyant-shortlist",
                        "0", "--out", str(out)])
