"""The round timer: IBFT 2.0's doubling timer (default) and the fixed timer of the seed experiment.

A round r waits ``round_timeout_s * 2^min(r, cap)`` under the doubling timer and
``round_timeout_s`` under the fixed one, from round 0 again at each height; the
chain and the oracle read the same rule (:meth:`ChainConfig.round_timer_s`).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dtopt.cli import main
from dtopt.consensus import run_chain, uniform_scenario
from dtopt.consensus.columns import ConfigColumns
from dtopt.consensus.config import ChainConfig
from dtopt.consensus.scenario import Regime, Scenario
from dtopt.consensus.timers import MAX_ROUND_TIMER_DOUBLINGS, rounds_timed_out
from dtopt.errors import DtoptError
from dtopt.twin import OracleState, RoundOracle
from dtopt.twin.config_search import ConfigurationSpace
from dtopt.twin.config_search.chain_configs import chain_configs

N = 10
NAMES = tuple(f"bp{i}" for i in range(N))


def slowdown(timer: str) -> Scenario:
    """10 validators, 30 tx/s of 5 KB, links at 1.5 MB/s, 0.3 MB/s from 100 s to 300 s, then
    1.5 MB/s again; IBFT, 1 MB blocks, 5 s round timeout."""
    regimes = tuple(Regime(start_s=start, bandwidth_mbps=(mbps,) * N, tx_rate_per_s=30.0)
                    for start, mbps in ((0.0, 1.5), (100.0, 0.3), (300.0, 1.5)))
    return uniform_scenario(N, regimes=regimes, max_block_mb=1.0, round_timeout_s=5.0,
                            fast_path_timeout_s=2.5, round_timer=timer)


@pytest.fixture(scope="module")
def slowdown_runs() -> dict[str, np.ndarray]:
    out = {}
    for timer in ("doubling", "fixed"):
        blocks = run_chain(slowdown(timer), "IBFT", 400.0, seed=1).view.blocks
        out[timer] = np.array([(b.committed_s, b.round) for b in blocks])
    return out


def test_doubling_timer_rides_out_the_slowdown(slowdown_runs: dict) -> None:
    committed_s, rounds = slowdown_runs["doubling"].T
    slow = (committed_s >= 100.0) & (committed_s < 300.0)
    assert rounds.max() <= 2  # every height commits by its third round (two doublings)
    assert np.any(rounds[slow] >= 1)  # the slow links do need a longer round
    # it keeps committing: no gap longer than rounds 0, 1 and 2 (5 + 10 + 20 s) plus their setup
    gaps = np.diff(np.concatenate(([100.0], committed_s[committed_s >= 100.0])))
    assert gaps.max() < 40.0
    assert slow.sum() >= 15


def test_fixed_timer_livelocks_as_before(slowdown_runs: dict) -> None:
    committed_s, rounds = slowdown_runs["fixed"].T
    stalled = (committed_s >= 115.0) & (committed_s < 300.0)
    assert not stalled.any()  # every round times out after the same 5 s: nothing commits
    assert rounds[committed_s > 300.0].max() > 30  # the stalled height commits once the links recover
    assert np.all(rounds[committed_s < 300.0] == 0)


@pytest.mark.parametrize("protocol", ["IBFT"])
def test_chain_and_oracle_agree_when_rounds_need_doublings(protocol: str) -> None:
    """Links at 0.5 MB/s, a 2 s round timeout and 1 MB blocks: most heights commit in round 1
    or 2. The oracle's prediction from the same state is within 10% of the chain's run."""
    scenario = uniform_scenario(N, bandwidth_mbps=0.5, tx_rate_per_s=30.0, max_block_mb=1.0,
                                round_timeout_s=2.0, fast_path_timeout_s=1.0)
    horizon_s = 300.0
    run = run_chain(scenario, protocol, horizon_s, seed=1)
    rounds = np.array([b.round for b in run.view.blocks])
    assert np.mean((rounds >= 1) & (rounds <= 2)) > 0.5
    state = OracleState(online=np.ones(N, dtype=bool), bandwidth_mbps=np.full(N, 0.5), tx_rate_per_s=30.0)
    predicted = RoundOracle(scenario.config, replicas=32, seed=1).predict(state, protocol, horizon_s)
    chain = run.metrics
    for got, want in ((predicted.mean_tx_latency_s, chain.mean_tx_latency_s),
                      (predicted.mean_interblock_s, chain.mean_interblock_s),
                      (predicted.throughput_tps, chain.throughput_tps)):
        assert got == pytest.approx(want, rel=0.10)


@given(timeout_s=st.floats(0.01, 1e4), round_=st.integers(0, 10_000), start_s=st.floats(0.0, 1e6))
def test_a_round_timer_never_exceeds_its_cap(timeout_s: float, round_: int, start_s: float) -> None:
    config = ChainConfig(validators=("a", "b", "c", "d"), round_timeout_s=timeout_s,
                         fast_path_timeout_s=timeout_s / 2)
    cap_s = timeout_s * 2**MAX_ROUND_TIMER_DOUBLINGS
    wait_s = config.round_timer_s(start_s, round_) - start_s
    assert timeout_s * (1 - 1e-9) <= wait_s <= cap_s * (1 + 1e-9)
    assert wait_s == pytest.approx(timeout_s * 2 ** min(round_, MAX_ROUND_TIMER_DOUBLINGS))
    assert config.round_timer_s(start_s, round_ + 1) >= config.round_timer_s(start_s, round_)
    fixed = config.replace(round_timer="fixed")
    assert fixed.round_timer_s(start_s, round_) == start_s + timeout_s  # exactly today's timer
    fast_s = config.commit_send_time_s(0.0, 0.0, round_)  # IBFT: no fast path, sends at once
    assert fast_s == 0.0
    bigfoot = config.replace(protocol="BigFoot")
    assert bigfoot.commit_send_time_s(0.0, 0.0, round_) == pytest.approx(wait_s / 2)  # keeps its ratio


def test_batched_columns_read_the_same_timer_rule() -> None:
    base = ChainConfig(validators=NAMES)
    configs = [base.replace(round_timer=timer, round_timeout_s=t, fast_path_timeout_s=t / 2)
               for timer in ("doubling", "fixed") for t in (3.0, 10.0)]
    columns = ConfigColumns.of(configs, repeat=2)
    rounds = np.arange(columns.round_timeout_s.size) % 8
    got = columns.round_timer_s(np.zeros(rounds.size), rounds)
    want = [configs[k % 4].round_timer_s(0.0, int(r)) for k, r in enumerate(rounds)]
    np.testing.assert_array_equal(got, want)
    assert got.max() <= columns.round_timeout_s.max() * 2**MAX_ROUND_TIMER_DOUBLINGS


def test_rounds_timed_out_reads_the_timer_backwards() -> None:
    assert rounds_timed_out(34.9, 5.0, "doubling", 10) == 2  # 5 + 10 s passed, the 20 s round runs
    assert rounds_timed_out(35.0, 5.0, "doubling", 10) == 3
    assert rounds_timed_out(35.0, 5.0, "fixed", 10) == 7
    assert rounds_timed_out(1e9, 5.0, "doubling", 10) == 10


def test_a_block_switches_the_timer_and_the_space_tunes_it() -> None:
    scenario = uniform_scenario(4, tx_rate_per_s=10.0)
    assert scenario.config.round_timer == "doubling"  # the default
    run = run_chain(scenario, "IBFT", 60.0, seed=1,
                    controller=lambda chain, t: chain.request_config("bp1", round_timer="fixed"))
    blocks = run.view.blocks
    assert blocks[0].round_timer == "doubling" and blocks[-1].round_timer == "fixed"
    assert any(b.change == {"round_timer": "fixed"} for b in blocks)
    space = ConfigurationSpace.parse("protocol=IBFT;block=1;interval=0.1;timeout=5,10;timer=fixed,doubling")
    assert len(space) == 4 and ConfigurationSpace.parse(space.spec()) == space
    assert [c.round_timer for c in space] == ["fixed", "doubling"] * 2
    assert [c.round_timer for c in chain_configs(space.batch(), scenario.config)] == ["fixed", "doubling"] * 2
    untuned = ConfigurationSpace.parse("protocol=IBFT;block=1;interval=0.1;timeout=5,10")
    assert len(untuned) == 2 and untuned[0].round_timer is None and "timer" not in untuned.spec()
    fixed_base = scenario.config.replace(round_timer="fixed")
    assert {c.round_timer for c in chain_configs(untuned.batch(), fixed_base)} == {"fixed"}  # kept


@pytest.mark.parametrize("bad", [{"round_timer": "doubled"}, {"round_timer": 2}, {"round_timer": None}])
def test_bad_round_timer_is_one_line(bad: dict) -> None:
    with pytest.raises(DtoptError, match="round_timer must be one of doubling, fixed") as err:
        ChainConfig(validators=NAMES, **bad)
    assert "\n" not in str(err.value)
    with pytest.raises(DtoptError, match="round timer"):
        ConfigurationSpace.parse("timer=slow")


def test_cli_round_timer(tmp_path, capsys) -> None:
    assert main(["chain", "run", "--duration", "30", "--round-timer", "fixed", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["configuration"]["round_timer"] == "fixed"
    with pytest.raises(SystemExit) as exit_:
        main(["chain", "run", "--duration", "30", "--round-timer", "slow"])
    assert exit_.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    path = tmp_path / "bad.toml"
    path.write_text('nodes = ["a", "b", "c", "d"]\nround_timer = "slow"\n'
                    '[[regimes]]\nstart_s = 0\nbandwidth_mbps = 1.0\ntx_rate_per_s = 5\n')
    assert main(["chain", "run", "--scenario", str(path), "--duration", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "round_timer must be one of" in err[0]
