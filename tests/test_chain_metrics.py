"""Chain metrics from the outside view."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dtopt.consensus import BlockRecord, ChainView, chain_metrics, load_scenario, run_chain
from dtopt.errors import DtoptError


def _block(height: int, committed_s: float, arrivals: list[float], protocol: str = "IBFT", round_: int = 0):
    return BlockRecord(
        height=height, round=round_, proposer="bp0", protocol=protocol, proposed_s=committed_s - 1.0,
        committed_s=committed_s, tx_ids=np.arange(len(arrivals)), size_mb=0.005 * len(arrivals),
        tx_arrival_s=np.array(arrivals, dtype=float),
    )


def test_metrics_by_hand() -> None:
    blocks = (
        _block(0, 4.0, [1.0, 2.0, 3.0]),            # latencies 3, 2, 1 -> block mean 2
        _block(1, 10.0, [], round_=2),              # empty, after two timed-out rounds
        _block(2, 12.0, [4.0], protocol="BigFoot"),  # latency 8
    )
    m = chain_metrics(ChainView(start_s=0.0, end_s=20.0, validators=("bp0",), blocks=blocks))
    assert m.mean_tx_latency_s == pytest.approx((3 + 2 + 1 + 8) / 4)
    assert m.mean_block_latency_s == pytest.approx((2 + 8) / 2)
    assert m.mean_interblock_s == pytest.approx(12.0 / 3)
    assert m.throughput_tps == pytest.approx(4 / 20)
    assert (m.n_blocks, m.n_tx_committed, m.timed_out_rounds) == (3, 4, 2)
    assert m.blocks_per_protocol == {"IBFT": 2, "BigFoot": 1}
    assert chain_metrics(ChainView(0.0, 20.0, ("bp0",), blocks=blocks), duration_s=40.0).throughput_tps == 0.1


def test_empty_window_has_no_latency_and_json_nulls() -> None:
    m = chain_metrics(ChainView(start_s=5.0, end_s=10.0, validators=("bp0",)))
    assert m.mean_tx_latency_s is None and m.mean_block_latency_s is None and m.mean_interblock_s is None
    assert (m.n_blocks, m.n_tx_committed, m.throughput_tps) == (0, 0, 0.0)
    assert json.loads(m.to_json())["mean_tx_latency_s"] is None


def test_blocks_without_transactions_have_an_interblock_time_only() -> None:
    m = chain_metrics(ChainView(0.0, 10.0, ("bp0",), blocks=(_block(0, 4.0, []),)))
    assert m.mean_tx_latency_s is None and m.mean_interblock_s == 4.0 and m.n_blocks == 1
    with pytest.raises(DtoptError):
        chain_metrics(ChainView(start_s=5.0, end_s=5.0, validators=("bp0",)))


def test_window_metrics_of_a_run_add_up() -> None:
    run = run_chain(load_scenario("paper", 200.0, seed=1), "IBFT", 200.0, seed=1)
    first = chain_metrics(run.chain.view(0.0, 100.0))
    second = chain_metrics(run.chain.view(100.0, 200.0))
    assert first.n_blocks + second.n_blocks == run.metrics.n_blocks
    assert first.n_tx_committed + second.n_tx_committed == run.metrics.n_tx_committed
    assert run.metrics.throughput_tps == pytest.approx(run.metrics.n_tx_committed / 200.0)
    assert run.metrics.mean_tx_latency_s > 0
