"""Golden values: the consensus simulators reproduce recorded results exactly.

``tests/data/consensus_golden.json`` holds the :class:`ChainMetrics` (plus a
fingerprint of every committed block and the message counts) of the ``paper``,
``steady`` and ``faulty`` presets under both protocols and two seeds, a
twin-managed run, and the oracle's predictions on fixed states, under both round
timers (``"doubling"``, the default, and ``"fixed"``, the seed experiment's). A
refactor of the chain, the oracle or the rules they share must give the same
numbers to the last bit (same seed, same numbers). Re-record only on a deliberate
behaviour change:

    python -m tests.test_consensus_golden --record
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dtopt.consensus import load_scenario, run_chain, uniform_scenario
from dtopt.consensus.scenario import Scenario
from dtopt.twin import DigitalTwin, OracleState, RoundOracle

GOLDEN = Path(__file__).parent / "data" / "consensus_golden.json"
DURATION_S = 300.0
TIMERS = ("doubling", "fixed")
CHAIN_CASES = [
    (preset, protocol, seed)
    for preset in ("paper", "steady", "faulty")
    for protocol in ("IBFT", "BigFoot")
    for seed in (1, 2)
]


def _preset(name: str, seed: int, timer: str) -> Scenario:
    return load_scenario(name, DURATION_S, seed=seed).with_(round_timer=timer)


def _oracle(scenario: Scenario, replicas: int) -> RoundOracle:
    return RoundOracle(scenario.config, replicas=replicas, seed=3)


def _block_fingerprint(run: Any) -> str:
    """sha256 over every committed block's height, round, proposer, protocol, times and tx."""
    digest = hashlib.sha256()
    for block in run.view.blocks:
        digest.update(repr((block.height, block.round, block.proposer, block.protocol,
                            float(block.proposed_s),
                            float(block.committed_s), int(block.tx_ids[0]) if len(block.tx_ids) else -1,
                            len(block.tx_ids), block.switch_to,
                            tuple((v.validator, v.phase, float(v.sent_s)) for v in block.votes))).encode())
    return digest.hexdigest()


def chain_case(preset: str, protocol: str, seed: int, timer: str) -> dict[str, Any]:
    scenario = _preset(preset, seed, timer)
    run = run_chain(scenario, protocol, DURATION_S, seed=seed)
    return {
        "metrics": run.metrics.to_dict(),
        "blocks_sha256": _block_fingerprint(run),
        "messages": run.chain.messages_sent,
    }


def twin_case(timer: str) -> dict[str, Any]:
    scenario = _preset("paper", 4, timer)
    twin = DigitalTwin.from_scenario(scenario, replicas=32, seed=5)
    run = run_chain(scenario, "IBFT", DURATION_S, seed=4, controller=twin)
    return {
        "metrics": run.metrics.to_dict(),
        "blocks_sha256": _block_fingerprint(run),
        "records": [[r.t_s, r.chosen, r.switched, r.producer, r.predicted_latency_s] for r in twin.records],
    }


def _states(timer: str) -> dict[str, tuple[Scenario, list[OracleState]]]:
    paper = load_scenario("paper", 200.0, seed=1).with_(round_timer=timer)
    states = []
    for regime in paper.regimes[:2]:
        base = OracleState(
            online=np.array([name not in regime.offline for name in paper.producers]),
            bandwidth_mbps=np.array(regime.bandwidth_mbps),
            tx_rate_per_s=regime.tx_rate_per_s,
            jitter_s=regime.jitter_s,
        )
        states += [base, base.with_(backlog_tx=700, backlog_age_s=3.0, next_height=17,
                                    round_elapsed_s=4.0, since_proposal_s=4.5)]
    tiny = uniform_scenario(7, offline=("bp2",), tx_rate_per_s=80.0, bandwidth_mbps=1.5, round_timer=timer)
    tiny_state = OracleState(online=np.arange(7) != 2, bandwidth_mbps=np.full(7, 1.5), tx_rate_per_s=80.0)
    tiny_states = [tiny_state, tiny_state.with_(round_elapsed_s=12.0)]
    return {"paper": (paper, states), "uniform7": (tiny, tiny_states)}


def oracle_cases(timer: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (scenario, states) in _states(timer).items():
        oracle = _oracle(scenario, replicas=48)
        for protocol in ("IBFT", "BigFoot"):
            for k, state in enumerate(states):
                out[f"{name}/{protocol}/{k}"] = dataclasses.asdict(oracle.predict(state, protocol, 25.0))
            many = oracle.predict_many(states, protocol, 40.0)
            out[f"{name}/{protocol}/many"] = [dataclasses.asdict(p) for p in many]
    return out


def record() -> dict[str, Any]:
    return {
        timer: {
            "chain": {f"{p}/{q}/{s}": chain_case(p, q, s, timer) for p, q, s in CHAIN_CASES},
            "twin": twin_case(timer),
            "oracle": oracle_cases(timer),
        }
        for timer in TIMERS
    }


def _json_roundtrip(value: Any) -> Any:
    """What ``value`` looks like after a trip through JSON (inf and NaN kept as JSON allows)."""
    return json.loads(json.dumps(value))


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("timer", TIMERS)
@pytest.mark.parametrize(("preset", "protocol", "seed"), CHAIN_CASES)
def test_chain_reproduces_golden_metrics(golden: dict, preset: str, protocol: str, seed: int, timer: str
                                         ) -> None:
    expected = golden[timer]["chain"][f"{preset}/{protocol}/{seed}"]
    assert _json_roundtrip(chain_case(preset, protocol, seed, timer)) == expected


@pytest.mark.parametrize("timer", TIMERS)
def test_twin_managed_run_reproduces_golden(golden: dict, timer: str) -> None:
    assert _json_roundtrip(twin_case(timer)) == golden[timer]["twin"]


@pytest.mark.parametrize("timer", TIMERS)
def test_oracle_reproduces_golden_predictions(golden: dict, timer: str) -> None:
    got = _json_roundtrip(oracle_cases(timer))
    expected = golden[timer]["oracle"]
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == value, key


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python -m tests.test_consensus_golden --record")
    GOLDEN.write_text(json.dumps(record(), indent=1, sort_keys=True) + "\n")
    print(GOLDEN)
