"""Safety under churn and determinism of the message-level chain."""

from __future__ import annotations

import numpy as np
import pytest

from dtopt.consensus import Chain, Regime, Scenario, load_scenario, random_propagation_s, run_chain

CHURN_UNTIL_S = 120.0
END_S = 170.0


def _churn_scenario(rng: np.random.Generator, seed: int, round_timer: str = "fixed") -> Scenario:
    """Small chains with random crashes (sometimes below quorum) and heavy jitter until
    ``CHURN_UNTIL_S``, then everyone online on a steady network."""
    n_validators = int(rng.choice([4, 5, 7]))
    nodes = tuple(f"n{i}" for i in range(n_validators + 1))  # plus one non-producing follower
    regimes, t = [], 0.0
    while t < CHURN_UNTIL_S:
        n_down = int(rng.integers(0, n_validators))
        regimes.append(Regime(
            start_s=t,
            offline=tuple(rng.choice(nodes, size=n_down, replace=False).tolist()),
            bandwidth_mbps=tuple(rng.uniform(0.3, 3.0, len(nodes)).tolist()),
            tx_rate_per_s=float(rng.uniform(0.0, 80.0)),
            jitter_s=float(rng.choice([0.0, 0.2, 1.0])),
        ))
        t += float(rng.uniform(2.0, 12.0))
    regimes.append(Regime(start_s=t, bandwidth_mbps=(1.0,) * len(nodes), tx_rate_per_s=10.0))
    return Scenario(
        nodes=nodes, producers=nodes[:n_validators], faulty=(), regimes=tuple(regimes),
        propagation_s=random_propagation_s(len(nodes), seed),
        round_timeout_s=float(rng.uniform(4.0, 8.0)), fast_path_timeout_s=2.0, round_timer=round_timer,
    )


def _checked_safe(chain: Chain, seed: int, end_s: float = END_S) -> tuple[list[tuple[int, ...]], tuple]:
    """Every node's committed chain is a prefix of the longest one, no violation was counted,
    and the final blocks have consecutive heights; returns the nodes' chains and the final blocks."""
    chains = [chain.committed_chain(node) for node in chain.scenario.nodes]
    longest = max(chains, key=len)
    for own in chains:
        assert own == longest[: len(own)], f"seed {seed}: conflicting commits"
    assert chain.safety_violations == 0
    blocks = chain.view(0.0, end_s).blocks
    assert [b.height for b in blocks] == list(range(len(blocks)))
    return chains, blocks


def test_no_two_nodes_ever_commit_different_blocks_at_a_height_and_the_chain_recovers() -> None:
    rng = np.random.default_rng(2024)
    total_blocks = total_round_changes = total_commits_after_rc = 0
    for seed in range(50):
        scenario = _churn_scenario(rng, seed)
        chain = Chain(scenario, str(rng.choice(["IBFT", "BigFoot"])), seed=seed)
        for t in (30.0, 60.0, 90.0):
            chain.run_until(t)
            chain.request_switch(str(rng.choice(["IBFT", "BigFoot"])), str(rng.choice(scenario.producers)))
        chain.run_until(END_S)
        chains, blocks = _checked_safe(chain, seed)
        # liveness: once everyone is back, the chain moves again and every node catches up
        assert blocks[-1].committed_s > END_S - 15.0, f"seed {seed}: no progress after the churn"
        assert min(len(c) for c in chains) >= len(blocks) - 1
        total_blocks += len(blocks)
        total_round_changes += chain.messages_sent["ROUND-CHANGE"]
        total_commits_after_rc += sum(b.round > 0 for b in blocks)
    # the runs did exercise round changes racing with commits
    assert total_blocks > 500 and total_round_changes > 1000 and total_commits_after_rc > 50


def test_the_doubling_timer_is_safe_under_churn_and_recovers_within_its_cap() -> None:
    """As above (fixed timer) under the doubling timer: rounds climb while no quorum is online,
    so after the churn the chain may wait up to the capped timer (8 x at most 8 s) before it
    moves again; it must then commit, with every node caught up."""
    rng = np.random.default_rng(2025)
    end_s = CHURN_UNTIL_S + 12.0 + 8 * 8.0 + 30.0  # last regime starts <= 132 s, a capped round, margin
    for seed in range(15):
        scenario = _churn_scenario(rng, seed, round_timer="doubling")
        chain = Chain(scenario, str(rng.choice(["IBFT", "BigFoot"])), seed=seed)
        chain.run_until(end_s)
        chains, blocks = _checked_safe(chain, seed, end_s)
        back_s = scenario.regimes[-1].start_s
        assert blocks[-1].committed_s > back_s, f"seed {seed}: no progress after the churn"
        assert min(len(c) for c in chains) >= len(blocks) - 1


def _random_change(rng: np.random.Generator, config) -> dict:
    """One to four fields with random values, from barely-above-a-message-delay timeouts
    (rounds that can never fit) and one-transaction blocks to slow, large settings."""
    draws = {
        "protocol": lambda: str(rng.choice(["IBFT", "BigFoot"])),
        "max_block_mb": lambda: float(rng.choice([config.tx_size_mb, 0.1, 0.5, 1.0, 4.0])),
        "min_block_interval_s": lambda: float(rng.choice([0.0, 0.1, 1.0, 3.0])),
        "round_timeout_s": lambda: float(rng.uniform(1.01, 3.0) * config.min_message_delay_s
                                         if rng.random() < 0.2 else rng.uniform(1.0, 12.0)),
    }
    keys = rng.choice(list(draws), size=int(rng.integers(1, 5)), replace=False)
    return {str(key): draws[str(key)]() for key in keys}


def test_no_conflicting_commits_under_random_configuration_changes() -> None:
    rng = np.random.default_rng(77)
    total_changes = 0
    for seed in range(30):
        scenario = _churn_scenario(rng, seed)
        chain = Chain(scenario, str(rng.choice(["IBFT", "BigFoot"])), seed=seed)
        for t in np.sort(rng.uniform(0.0, CHURN_UNTIL_S, int(rng.integers(2, 8)))):
            chain.run_until(float(t))
            chain.request_config(str(rng.choice(scenario.producers)), **_random_change(rng, chain.config))
        chain.run_until(END_S)
        chains, blocks = _checked_safe(chain, seed)
        longest = max(chains, key=len)
        # each final block was proposed under the configuration its predecessors' changes put in force
        config = chain.block_config(longest[0]) if longest else None
        for block, block_id in zip(blocks, longest, strict=False):
            assert chain.block_config(block_id) == config, f"seed {seed}: a block under another configuration"
            assert (block.max_block_mb, block.round_timeout_s) == (config.max_block_mb,
                                                                   config.round_timeout_s)
            config = config.switched(**(block.change or {}))
        if len(longest) == len(blocks):
            assert chain.config == config
        total_changes += sum(b.change is not None for b in blocks)
    assert total_changes > 40  # the runs did carry changes


def _fingerprint(view):
    return [
        (b.height, b.round, b.proposer, b.protocol, b.proposed_s, b.committed_s, tuple(b.tx_ids),
         tuple((v.validator, v.phase, v.sent_s) for v in b.votes))
        for b in view.blocks
    ]


@pytest.mark.parametrize("protocol", ["IBFT", "BigFoot"])
def test_same_seed_same_chain(protocol: str) -> None:
    scenario = load_scenario("paper", 250.0, seed=5)
    first = run_chain(scenario, protocol, 250.0, seed=5).view
    again = run_chain(load_scenario("paper", 250.0, seed=5), protocol, 250.0, seed=5).view
    other = run_chain(scenario, protocol, 250.0, seed=6).view
    assert _fingerprint(first) == _fingerprint(again)
    np.testing.assert_array_equal(first.tx_arrival_s, again.tx_arrival_s)
    assert _fingerprint(first) != _fingerprint(other)


def test_same_seed_gives_the_same_transactions_under_both_protocols() -> None:
    scenario = load_scenario("paper", 100.0, seed=1)
    ibft = run_chain(scenario, "IBFT", 100.0, seed=3).view
    bigfoot = run_chain(scenario, "BigFoot", 100.0, seed=3).view
    np.testing.assert_array_equal(ibft.tx_arrival_s, bigfoot.tx_arrival_s)


def test_transactions_do_not_depend_on_how_the_run_is_stepped() -> None:
    # a controller makes run_chain advance in twin intervals; the arrivals must not change
    scenario = load_scenario("paper", 450.0, seed=2)
    whole = run_chain(scenario, "IBFT", 450.0, seed=4).view
    stepped = run_chain(scenario, "IBFT", 450.0, seed=4, controller=lambda chain, t_s: None).view
    np.testing.assert_array_equal(whole.tx_arrival_s, stepped.tx_arrival_s)
    assert _fingerprint(whole) == _fingerprint(stepped)


def test_a_validator_behind_the_final_head_fetches_it() -> None:
    # Under BigFoot's fast path nobody sends a COMMIT, so a validator that missed a
    # PREPARE has no message to learn the commit from; the block announcement must
    # make it fetch the block instead of idling until a round timeout.
    scenario = load_scenario("paper", 300.0, seed=2)  # without it, two validators idle at 220 s
    chain = Chain(scenario, "BigFoot", seed=2)
    idle_s = dict.fromkeys(scenario.producers, 0.0)
    longest_s, step_s = 0.0, 0.25
    for t_s in np.arange(step_s, 300.0, step_s):
        chain.run_until(t_s)
        final = len(chain.view(0.0, t_s).blocks)
        offline = scenario.regime_at(t_s).offline
        for v in scenario.producers:
            behind = len(chain.committed_chain(v)) < final
            idle = behind and v not in offline and not chain.node_syncing(v)
            idle_s[v] = idle_s[v] + step_s if idle else 0.0
        longest_s = max(longest_s, *idle_s.values())
    assert longest_s <= 1.0
