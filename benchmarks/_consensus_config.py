"""The configuration strategies of ``benchmarks.consensus --space``.

* ``Config twin``: :class:`dtopt.twin.DigitalTwin` with the configuration space:
  every twin interval it chooses protocol, block size, block interval and round
  timeout (the protocol-only twin of the same run is ``Dynamic``);
* the baselines over the same space that see the chain's outcomes instead of a
  model (:mod:`benchmarks._config_baselines`), when present.

One seed's runs, their rows for the common table, the configuration twin's
timeline (from the blocks: what was in force, not what was asked) and its
decisions' Pareto sets for the figures, and the outcome lines of the summary.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from dtopt.consensus.chain import ChainRun, run_chain
from dtopt.consensus.scenario import Scenario
from dtopt.twin import DigitalTwin
from dtopt.twin.config_search import ConfigurationSpace
from dtopt.twin.configure import FIELDS

__all__ = [
    "CONFIG_TWIN", "arrival_rate_tps", "config_outcome_lines", "metric_row", "parse_space", "run_config",
    "timeline",
]

CONFIG_TWIN = "Config twin"
PROTOCOL_TWIN = "Dynamic"


def parse_space(text: str) -> ConfigurationSpace:
    """``--space``: ``"default"`` or the text form of a configuration space."""
    return ConfigurationSpace() if text.strip().lower() == "default" else ConfigurationSpace.parse(text)


def arrival_rate_tps(scenario: Scenario, duration_s: float) -> float:
    """The scenario's mean arrival rate over ``[0, duration_s)`` (tx/s), regimes weighted by time."""
    starts = [min(r.start_s, duration_s) for r in scenario.regimes] + [duration_s]
    spans = np.diff(starts)
    return float(np.dot(spans, [r.tx_rate_per_s for r in scenario.regimes]) / duration_s)


def metric_row(seed: int, strategy: str, run: ChainRun) -> dict[str, Any]:
    """One row of results.csv: a strategy's run on one seed."""
    m = run.metrics
    return {
        "seed": seed, "strategy": strategy, "mean_tx_latency_s": m.mean_tx_latency_s,
        "mean_block_latency_s": m.mean_block_latency_s, "mean_interblock_s": m.mean_interblock_s,
        "throughput_tps": m.throughput_tps, "n_blocks": m.n_blocks,
        "blocks_ibft": m.blocks_per_protocol.get("IBFT", 0),
        "blocks_bigfoot": m.blocks_per_protocol.get("BigFoot", 0),
    }


def timeline(run: ChainRun) -> list[dict[str, Any]]:
    """The configuration in force, block by block: ``t_s`` (commit) and the four fields."""
    return [
        {"t_s": b.committed_s, **{theirs: getattr(b, theirs) for theirs in FIELDS.values()}}
        for b in run.view.blocks
    ]


def run_config(
    seed: int, scenario: Scenario, duration_s: float, replicas: int, space: ConfigurationSpace
) -> dict[str, Any]:
    """The configuration strategies on one seed: rows, the twin's timeline and decisions."""
    logging.getLogger("dtopt.twin").setLevel(logging.ERROR)  # skipped intervals are in the records
    twin = DigitalTwin.from_scenario(scenario, replicas=replicas, seed=seed, space=space)
    run = run_chain(scenario, "IBFT", duration_s, seed, controller=twin)
    return {
        "rows": [metric_row(seed, CONFIG_TWIN, run)],
        "timeline": timeline(run),
        "decisions": [r.to_dict() for r in twin.records],
        "regimes": [
            {"start_s": r.start_s, "offline": list(r.offline),
             "mean_bandwidth_mbps": float(np.mean(r.bandwidth_mbps))}
            for r in scenario.regimes if r.start_s < duration_s
        ],
    }


def config_outcome_lines(
    rows: list[dict[str, Any]], strategies: list[str], paired: Any, arrival_tps: float | None
) -> list[str]:
    """The configuration twin against every other strategy: means, paired per-seed
    differences (``paired(mine, other)`` text), throughput over the arrival rate."""
    def per_seed(strategy: str, key: str) -> list[float]:
        return [r[key] for r in sorted(rows, key=lambda r: r["seed"]) if r["strategy"] == strategy]

    if CONFIG_TWIN not in strategies:
        return []
    lat = per_seed(CONFIG_TWIN, "mean_tx_latency_s")
    thr = per_seed(CONFIG_TWIN, "throughput_tps")
    lines = [
        f"{CONFIG_TWIN}: mean latency {np.mean(lat):.2f} s, mean throughput {np.mean(thr):.3f} tx/s"
        + (f" = {np.mean(thr) / arrival_tps:.1%} of the mean arrival rate ({arrival_tps:.2f} tx/s)"
           if arrival_tps else "")
    ]
    for other in strategies:
        if other == CONFIG_TWIN:
            continue
        o_lat, o_thr = per_seed(other, "mean_tx_latency_s"), per_seed(other, "throughput_tps")
        ratio = np.array(lat) / np.array(o_lat)
        lines.append(
            f"{CONFIG_TWIN} vs {other}: latency ratio of means {np.mean(lat) / np.mean(o_lat):.3f} "
            f"(per seed median {np.median(ratio):.3f}, worst {ratio.max():.3f}); paired per-seed "
            f"differences, mean +- standard error: latency {paired(lat, o_lat)} s, "
            f"throughput {paired(thr, o_thr)} tx/s"
        )
    return lines
