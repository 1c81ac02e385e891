"""Run-time configuration changes of the message-level chain: block size, block interval,
round timeout and protocol, carried in a block and in force from the next height."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dtopt.consensus import Chain, Regime, Scenario, load_scenario, uniform_scenario
from dtopt.errors import DtoptError
from dtopt.twin.config_search.space import ConfigurationSpace

# Hand-computed delays of uniform_scenario(bandwidth 1 MB/s, propagation 10 ms, no jitter),
# as in tests/test_chain.py: an empty block's PRE-PREPARE, a vote, the block's creation.
PP_S = 0.2 + 0.01 + 0.5
VOTE_S = 0.2 + 0.01 + 0.1
CREATE_S = 0.1


def _offline_then_back(tx_rate_per_s: float = 10.0) -> Chain:
    """4 validators; bp3 is offline from 20 s to 60 s (it misses the change and syncs later)."""
    base = uniform_scenario(4, tx_rate_per_s=tx_rate_per_s)
    online, bw = base.regimes[0], base.regimes[0].bandwidth_mbps
    return Chain(base.with_(regimes=(
        online,
        Regime(start_s=20.0, offline=("bp3",), bandwidth_mbps=bw, tx_rate_per_s=tx_rate_per_s),
        Regime(start_s=60.0, bandwidth_mbps=bw, tx_rate_per_s=tx_rate_per_s),
    )), "IBFT", seed=4)


def _settings(record) -> tuple:
    """The switchable fields of a BlockRecord or a ChainConfig."""
    return (record.protocol, record.max_block_mb, record.min_block_interval_s, record.round_timeout_s)


def _carrier(blocks):
    carriers = [b for b in blocks if b.change is not None]
    assert len(carriers) == 1
    return carriers[0]


@pytest.mark.parametrize("change", [
    {"max_block_mb": 0.25}, {"min_block_interval_s": 1.5}, {"round_timeout_s": 4.0}, {"protocol": "BigFoot"},
])
def test_a_change_takes_effect_at_the_next_height_on_every_node(change: dict) -> None:
    chain = _offline_then_back()
    before = chain.config
    chain.run_until(30.0)
    chain.request_config("bp1", **change)
    assert chain.config == before  # nothing changes before the carrying block is final
    chain.run_until(120.0)
    after = before.switched(**change)
    assert chain.config == after
    blocks = chain.view(0.0, 120.0).blocks
    carrier = _carrier(blocks)
    assert carrier.proposer == "bp1" and carrier.change == change
    assert carrier.switch_to == change.get("protocol")
    later = [b.proposed_s for b in blocks if b.proposer == "bp1" and b.proposed_s > 30.0]
    assert carrier.proposed_s == min(later)
    for block in blocks:  # the outside view shows the configuration each block was proposed under
        assert _settings(block) == _settings(before if block.height <= carrier.height else after)
    # bp3 was offline when the change was committed; it synced and runs the new configuration too
    reference = chain.committed_chain("bp0")
    for node in ("bp1", "bp2", "bp3"):
        own = chain.committed_chain(node)
        assert own == reference[: len(own)] and len(own) > carrier.height + 5
        assert chain.node_config(node) == after
        assert [chain.block_config(b) for b in own] == [before] * (carrier.height + 1) + [after] * (
            len(own) - carrier.height - 1)


def test_a_smaller_block_size_caps_every_later_block() -> None:
    chain = Chain(uniform_scenario(4, tx_rate_per_s=400.0), "IBFT", seed=1)  # 2 MB/s of transactions
    chain.run_until(20.0)
    chain.request_config("bp2", max_block_mb=0.25)
    chain.run_until(60.0)
    blocks = chain.view(0.0, 60.0).blocks
    carrier = _carrier(blocks)
    n_tx = np.array([len(b.tx_ids) for b in blocks])
    heights = np.array([b.height for b in blocks])
    assert n_tx[heights <= carrier.height].max() == 200  # full 1 MB blocks before
    assert n_tx[heights > carrier.height].max() == 50  # full 0.25 MB blocks after, never more
    ids = np.concatenate([b.tx_ids for b in blocks])
    np.testing.assert_array_equal(ids, np.arange(len(ids)))  # no transaction lost or repeated


def test_a_longer_block_interval_spaces_the_proposals() -> None:
    chain = Chain(uniform_scenario(4, tx_rate_per_s=10.0), "IBFT", seed=1)
    chain.run_until(10.0)
    chain.request_config("bp0", min_block_interval_s=3.0)
    chain.run_until(60.0)
    blocks = chain.view(0.0, 60.0).blocks
    carrier = _carrier(blocks)
    proposed = np.array([b.proposed_s for b in blocks])
    gaps = np.diff(proposed)
    early, late = gaps[: carrier.height], gaps[carrier.height:]
    assert early.max() < 3.0  # a round (about 1.5 s) was the limit before
    assert late.min() >= 3.0 and late.size > 5
    np.testing.assert_allclose(late, 3.0 + CREATE_S)  # the interval, then the block's creation


@pytest.mark.parametrize("protocol", ["IBFT", "BigFoot"])
def test_a_shorter_round_timeout_shortens_the_round_changes(protocol: str) -> None:
    chain = Chain(uniform_scenario(4, offline=("bp3",)), protocol)
    chain.run_until(1.0)
    chain.request_config("bp0", round_timeout_s=4.0)
    chain.run_until(120.0)
    blocks = chain.view(0.0, 120.0).blocks
    carrier = _carrier(blocks)
    assert chain.config.round_timeout_s == 4.0
    assert chain.config.fast_path_timeout_s == 2.0  # keeps its ratio (5 s / 10 s) to the round timeout
    normal_s = CREATE_S + PP_S + 2 * VOTE_S if protocol == "IBFT" else 2.0 + VOTE_S
    skips = [(b.height, b.committed_s - p.committed_s) for p, b in itertools.pairwise(blocks) if b.round == 1]
    assert skips[0][0] <= carrier.height + 4 and len(skips) > 3
    for height, gap_s in skips:  # bp3's turn costs a full round timeout, then a round of bp0
        timeout_s = 10.0 if height <= carrier.height else 4.0
        if protocol == "IBFT":
            assert gap_s == pytest.approx(timeout_s + VOTE_S + normal_s)
        else:  # BigFoot falls back at its fast-path timeout (round 1's: doubled), which runs from
            # the node's ROUND-CHANGE (not the quorum one vote later), then one COMMIT delay
            fallback_s = timeout_s / 2 * chain.config.round_timer_factor(1) + VOTE_S
            assert gap_s == pytest.approx(timeout_s + fallback_s)


def test_a_later_request_replaces_a_pending_one_and_an_equal_one_is_dropped() -> None:
    chain = Chain(uniform_scenario(4, tx_rate_per_s=10.0), "IBFT", seed=2)
    chain.run_until(5.0)
    chain.request_config("bp1", round_timeout_s=5.0, protocol="BigFoot")
    chain.request_config("bp1", max_block_mb=0.5)  # before bp1 proposes: replaces, does not merge
    chain.request_config("bp2", round_timeout_s=10.0)  # already in force: dropped
    chain.run_until(40.0)
    carrier = _carrier(chain.view(0.0, 40.0).blocks)
    assert carrier.proposer == "bp1" and carrier.change == {"max_block_mb": 0.5}
    assert carrier.switch_to is None
    assert _settings(chain.config) == ("IBFT", 0.5, 0.1, 10.0)


def test_a_configuration_of_the_twin_space_is_accepted_as_it_is() -> None:
    chain = Chain(uniform_scenario(4, tx_rate_per_s=10.0), "IBFT", seed=2)
    configuration = ConfigurationSpace()[100]
    chain.request_config("bp1", **configuration.to_dict())
    chain.run_until(20.0)
    assert _settings(chain.config) == (configuration.protocol, configuration.max_block_size_mb,
                                       configuration.min_block_interval_s, configuration.round_timeout_s)


@pytest.mark.parametrize(("changes", "message"), [
    ({"block_mb": 2.0}, "unknown key 'block_mb'"),
    ({"max_block_mb": 0.001}, "smaller than one transaction"),
    ({"max_block_mb": 1.0, "max_block_size_mb": 2.0}, "given twice"),
    ({"round_timeout_s": 0.0}, "round_timeout_s must be a finite number > 0"),
    ({"round_timeout_s": -3.0}, "round_timeout_s must be a finite number > 0"),
    ({"round_timeout_s": float("inf")}, "round_timeout_s must be a finite number > 0"),
    ({"round_timeout_s": 0.11}, "not longer than one message delay"),  # vote validation 0.1 + 10 ms
    ({"min_block_interval_s": -1.0}, "min_block_interval_s must be a finite number >= 0"),
    ({"protocol": "PBFT"}, "unknown protocol"),
    ({"fast_path_timeout_s": 1.0}, "follows the round timeout"),
    ({}, "nothing to change"),
])
def test_bad_configuration_changes_are_refused_in_one_line(changes: dict, message: str) -> None:
    chain = Chain(uniform_scenario(4), "IBFT")
    with pytest.raises(DtoptError, match=message) as err:
        chain.request_config("bp0", **changes)
    assert "\n" not in str(err.value)


def test_only_a_validator_can_carry_a_change() -> None:
    nodes = ("bp0", "bp1", "bp2", "bp3", "follower")
    chain = Chain(Scenario(nodes=nodes, producers=nodes[:4], faulty=(),
                           regimes=(Regime(start_s=0.0, bandwidth_mbps=(1.0,) * 5),)), "IBFT")
    for who in ("follower", "bp9"):
        with pytest.raises(DtoptError, match="unknown block producer"):
            chain.request_config(who, round_timeout_s=5.0)


def test_branches_run_on_their_own_and_leave_the_chain_untouched() -> None:
    scenario = load_scenario("paper", 400.0, seed=3)
    chain, twin = Chain(scenario, "IBFT", seed=3), Chain(scenario, "IBFT", seed=3)
    chain.run_until(150.0)
    same, changed = chain.branches(2)
    changed.request_config("bp4", max_block_mb=0.25, round_timeout_s=3.0, protocol="BigFoot")
    changed.run_until(300.0)
    same.run_until(300.0)
    chain.run_until(300.0)  # the chain, after its branches ran, does what a chain never branched does
    twin.run_until(300.0)

    def fingerprint(c: Chain) -> list:
        return [(b.height, b.round, b.proposer, b.committed_s, tuple(b.tx_ids), b.change)
                for b in c.view(0.0, 300.0).blocks]

    assert fingerprint(chain) == fingerprint(twin) == fingerprint(same)
    assert fingerprint(changed)[:5] == fingerprint(chain)[:5] and fingerprint(changed) != fingerprint(chain)
    assert changed.config.max_block_mb == 0.25 and chain.config == twin.config
    for node in scenario.nodes:
        assert chain.committed_chain(node) == twin.committed_chain(node)
