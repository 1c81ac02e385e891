"""Behaviour of the message-level chain: quorums, fast path, fallback, timeouts, switching."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dtopt.consensus import BlockRecord, Chain, ChainView, Regime, load_scenario, run_chain, uniform_scenario
from dtopt.errors import DtoptError

# Hand-computed delays of uniform_scenario(bandwidth 1 MB/s, propagation 10 ms, no jitter, no tx):
# a PRE-PREPARE of an empty block is 0.2 MB: 0.2 s transfer + 0.01 s + 0.5 s validation.
PP_S = 0.2 + 0.01 + 0.5
VOTE_S = 0.2 + 0.01 + 0.1  # a PREPARE, COMMIT or ROUND-CHANGE
CREATE_S = 0.1


def _blocks(protocol: str, until_s: float = 40.0, **kwargs):
    chain = Chain(uniform_scenario(4, **kwargs), protocol)
    chain.run_until(until_s)
    return chain, chain.view(0.0, until_s).blocks


def test_ibft_takes_three_message_delays() -> None:
    _, blocks = _blocks("IBFT")
    assert blocks[0].committed_s == pytest.approx(CREATE_S + PP_S + 2 * VOTE_S)
    gaps = np.diff([b.committed_s for b in blocks])
    np.testing.assert_allclose(gaps, CREATE_S + PP_S + 2 * VOTE_S)
    assert [b.proposer for b in blocks[:5]] == ["bp0", "bp1", "bp2", "bp3", "bp0"]
    assert all({v.phase for v in b.votes} == {"PREPARE", "COMMIT"} for b in blocks)
    assert all(b.round == 0 and b.protocol == "IBFT" for b in blocks)


def test_bigfoot_fast_path_takes_two_message_delays_without_commits() -> None:
    chain, blocks = _blocks("BigFoot")
    gaps = np.diff([b.committed_s for b in blocks])
    np.testing.assert_allclose(gaps, CREATE_S + PP_S + VOTE_S)
    assert chain.messages_sent["COMMIT"] == 0
    assert all({v.phase for v in b.votes} == {"PREPARE"} for b in blocks)
    # every validator's PREPARE is in the certificate of a fast-path block
    assert all(len(b.votes) == 4 for b in blocks)


def test_bigfoot_falls_back_after_its_timeout_when_a_validator_is_offline() -> None:
    chain, blocks = _blocks("BigFoot", offline=("bp3",))
    fast_path_timeout_s = chain.scenario.fast_path_timeout_s
    # round 0 with an online proposer: COMMIT sent at the fast-path timeout, one vote delay later final
    assert blocks[1].committed_s - blocks[0].committed_s == pytest.approx(fast_path_timeout_s + VOTE_S)
    assert all("COMMIT" in {v.phase for v in b.votes} for b in blocks)
    assert {v.validator for b in blocks for v in b.votes} == {"bp0", "bp1", "bp2"}


def test_offline_proposer_costs_a_round_timeout() -> None:
    chain, blocks = _blocks("IBFT", offline=("bp3",))
    normal_s = CREATE_S + PP_S + 2 * VOTE_S
    by_height = {b.height: b for b in blocks}
    assert by_height[3].round == 1 and by_height[3].proposer == "bp0"  # bp3 skipped
    gap = by_height[3].committed_s - by_height[2].committed_s
    assert gap == pytest.approx(chain.scenario.round_timeout_s + VOTE_S + normal_s)
    assert by_height[2].round == by_height[4].round == 0
    assert chain.messages_sent["ROUND-CHANGE"] > 0


@pytest.mark.parametrize(("n_offline", "commits"), [(0, True), (3, True), (4, False)])
def test_ibft_needs_a_quorum_of_2f_plus_1(n_offline: int, commits: bool) -> None:
    offline = tuple(f"bp{i}" for i in range(10 - n_offline, 10))
    chain = Chain(uniform_scenario(10, offline=offline), "IBFT")
    chain.run_until(60.0)
    blocks = chain.view(0.0, 60.0).blocks
    assert bool(blocks) == commits
    if commits:
        assert {b.proposer for b in blocks}.isdisjoint(offline)
    else:  # stalled: the online nodes asked for a round change that never gathers a quorum
        sent = chain.messages_sent["ROUND-CHANGE"]
        assert sent > 0 and all(chain.node_round(f"bp{i}") == 1 for i in range(10 - n_offline))
        chain.run_until(120.0)
        assert not chain.view(0.0, 120.0).blocks
        assert chain.messages_sent["ROUND-CHANGE"] > sent  # re-sent every round timeout


def test_block_building_respects_capacity_interval_and_order() -> None:
    scenario = uniform_scenario(4, tx_rate_per_s=400.0, max_block_mb=0.5, tx_size_mb=0.005)
    run = run_chain(scenario, "IBFT", duration_s=60.0, seed=2)
    blocks = run.view.blocks
    ids = np.concatenate([b.tx_ids for b in blocks])
    np.testing.assert_array_equal(ids, np.arange(len(ids)))  # oldest first, none twice, none skipped
    assert max(len(b.tx_ids) for b in blocks) == scenario.block_capacity_tx == 100
    proposed = np.array([b.proposed_s for b in blocks])
    assert np.all(np.diff(proposed) >= scenario.min_block_interval_s)
    for block in blocks:  # a block only holds transactions that arrived before it was built
        assert np.all(block.tx_arrival_s <= block.proposed_s)
        np.testing.assert_allclose(block.size_mb, len(block.tx_ids) * scenario.tx_size_mb)


def test_switch_takes_effect_at_the_next_block_boundary_on_every_node() -> None:
    base = uniform_scenario(4, tx_rate_per_s=10.0)
    online, bw = base.regimes[0], base.regimes[0].bandwidth_mbps
    scenario = base.with_(regimes=(
        online,
        Regime(start_s=20.0, offline=("bp3",), bandwidth_mbps=bw, tx_rate_per_s=10.0),
        Regime(start_s=60.0, bandwidth_mbps=bw, tx_rate_per_s=10.0),
    ))
    chain = Chain(scenario, "IBFT", seed=4)
    chain.run_until(30.0)
    chain.request_switch("BigFoot", "bp1")
    assert chain.protocol == "IBFT"
    chain.run_until(120.0)
    blocks = chain.view(0.0, 120.0).blocks
    carriers = [b for b in blocks if b.switch_to is not None]
    assert len(carriers) == 1
    switch = carriers[0]
    assert switch.switch_to == "BigFoot" and switch.proposer == "bp1"
    assert switch.proposed_s == min(b.proposed_s for b in blocks if b.proposer == "bp1" and b.proposed_s > 30)
    assert all(b.protocol == ("IBFT" if b.height <= switch.height else "BigFoot") for b in blocks)
    assert chain.protocol == "BigFoot"
    # bp3 was offline when the switch was committed; it synced and runs BigFoot too
    reference = chain.committed_chain("bp0")
    for node in ("bp1", "bp2", "bp3"):
        own = chain.committed_chain(node)
        assert own == reference[: len(own)]
        assert len(own) > switch.height + 5
        assert chain.node_protocol(node) == "BigFoot"
        assert [chain.block_protocol(b) for b in own[switch.height + 1:]] == ["BigFoot"] * (
            len(own) - switch.height - 1)
    # with everyone back online BigFoot takes its fast path
    late = [b for b in blocks if b.proposed_s > 70.0 and b.round == 0]
    assert late and all({v.phase for v in b.votes} == {"PREPARE"} for b in late)


def test_request_switch_rejects_bad_input() -> None:
    chain = Chain(uniform_scenario(4), "IBFT")
    with pytest.raises(DtoptError, match="unknown protocol"):
        chain.request_switch("PBFT", "bp0")
    with pytest.raises(DtoptError, match="unknown block producer"):
        chain.request_switch("BigFoot", "bp9")


def test_view_shows_only_the_window_and_the_public_record() -> None:
    chain = Chain(load_scenario("paper", 200.0, seed=1), "IBFT", seed=1)
    chain.run_until(100.0)
    view = chain.view(25.0, 75.0)
    assert np.all((view.tx_arrival_s >= 25.0) & (view.tx_arrival_s < 75.0))
    assert all(25.0 <= b.committed_s < 75.0 for b in view.blocks)
    assert [b.height for b in view.blocks] == list(range(view.blocks[0].height, view.blocks[-1].height + 1))
    assert view.validators == chain.scenario.producers
    future = chain.view(90.0, 500.0)  # capped at now: nothing from the future
    assert future.end_s == 100.0 and np.all(future.tx_arrival_s < 100.0)
    for block in view.blocks:
        assert all(v.sent_s <= block.committed_s for v in block.votes)
        assert block.proposed_s < block.committed_s
    with pytest.raises(DtoptError):
        chain.view(10.0, 5.0)
    # the published records carry exactly the documented public fields
    assert {f.name for f in dataclasses.fields(BlockRecord)} == {
        "height", "round", "proposer", "protocol", "proposed_s", "committed_s", "tx_ids", "size_mb",
        "votes", "switch_to", "tx_arrival_s", "max_block_mb", "min_block_interval_s", "round_timeout_s",
        "round_timer", "change"}
    assert {f.name for f in dataclasses.fields(ChainView)} == {
        "start_s", "end_s", "validators", "tx_ids", "tx_arrival_s", "blocks", "tx_submitted_s", "tx_entry"}


def test_paper_finding_ibft_wins_with_faulty_offline_bigfoot_when_steady() -> None:
    latency = {}
    for preset in ("faulty", "steady"):
        scenario = load_scenario(preset, 300.0, seed=1)
        for protocol in ("IBFT", "BigFoot"):
            latency[preset, protocol] = run_chain(scenario, protocol, 300.0, seed=1).metrics.mean_tx_latency_s
    assert latency["faulty", "IBFT"] < latency["faulty", "BigFoot"]
    assert latency["steady", "BigFoot"] < latency["steady", "IBFT"]


def test_controller_is_called_every_twin_interval() -> None:
    calls = []
    scenario = load_scenario("steady", 100.0)
    run_chain(scenario, "IBFT", 100.0, controller=lambda chain, t: calls.append((t, chain.now_s)))
    assert calls == [(25.0, 25.0), (50.0, 50.0), (75.0, 75.0)]


def test_returning_node_syncs_the_missing_blocks_with_a_realistic_delay() -> None:
    base = uniform_scenario(4)
    bw = base.regimes[0].bandwidth_mbps
    scenario = base.with_(regimes=(
        Regime(start_s=0.0, offline=("bp3",), bandwidth_mbps=bw),
        Regime(start_s=30.0, bandwidth_mbps=bw),
    ))
    chain = Chain(scenario, "IBFT")
    chain.run_until(30.0)
    assert chain.committed_chain("bp3") == ()
    missing = len(chain.committed_chain("bp0"))
    # request + reply propagation, each empty block's PRE-PREPARE size / 1 MB/s, block validation
    sync_s = 2 * 0.01 + missing * (0.2 / 1.0 + 0.5)
    chain.run_until(30.0 + sync_s - 1e-6)
    assert chain.committed_chain("bp3") == ()
    chain.run_until(30.0 + sync_s + 1e-6)
    assert chain.committed_chain("bp3") == chain.committed_chain("bp0")[:missing]
    chain.run_until(60.0)  # and it takes part again: its votes appear in later blocks
    late = chain.view(45.0, 60.0).blocks
    assert late and all("bp3" in {v.validator for v in b.votes} for b in late)
