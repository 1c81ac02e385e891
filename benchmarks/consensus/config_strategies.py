"""The configuration strategies of ``benchmarks.consensus --space``.

* ``Config twin``: :class:`dtopt.twin.DigitalTwin` with the configuration space:
  every twin interval it chooses protocol, block size, block interval and round
  timeout (the protocol-only twin of the same run is ``Dynamic``). By default
  (``twin_home="tuned"``) the chain starts in the configuration tuned offline and
  the twin keeps it as its home, leaving it only for a clear predicted gain;
  ``"none"``: the chain starts in the scenario's configuration and the twin has no home;
* ``Best static``: every configuration of the space run for the whole seed, the
  best in hindsight kept (:func:`benchmarks.consensus.baselines.pick_best`);
* ``Clairvoyant space``: at every interval the configuration under which the next
  interval's transactions wait least, found on branches of the chain
  (:class:`benchmarks.consensus.baselines.SpaceClairvoyant`);
* ``Tuned offline``: the configuration that did best on the training seeds, run
  unchanged (:func:`benchmarks.consensus.static_sweep.tuned_offline`);
* ``Bandit``: a model-free online learner over the space that sees only the
  chain's outcomes (Thompson sampling, :class:`benchmarks.consensus.baselines.BanditController`);
* ``Learned forest``: a contextual learner with a regression forest per configuration,
  trained online from the view (:class:`benchmarks.consensus.learned_forest.ForestController`).

``CONFIG_STRATEGIES`` names them; ``--config-strategies`` picks a subset. The static
runs behind ``Best static`` and ``Tuned offline`` (every configuration on every test
and training seed) are one sweep (:func:`benchmarks.consensus.static_sweep.static_sweep`) made
before the seeds' runs and handed to them; the space clairvoyant costs 128 branches
per interval (fewer with a shortlist).

One seed's runs, their rows for the common table, the configuration twin's
timeline (from the blocks: what was in force, not what was asked) and its
decisions' Pareto sets for the figures, and the outcome lines of the summary.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from benchmarks.consensus.baselines import (
    BanditController,
    BestStatic,
    SpaceClairvoyant,
    scenario_under,
    shortlist,
)
from benchmarks.consensus.learned_forest import LEARNED_FOREST, ForestController
from benchmarks.consensus.static_sweep import TUNED_OFFLINE
from dtopt._validate import check_choice
from dtopt.consensus.chain import ChainRun, run_chain
from dtopt.consensus.scenario import Scenario
from dtopt.errors import DtoptError
from dtopt.twin import DigitalTwin
from dtopt.twin.config_search import (
    Configuration,
    ConfigurationBandit,
    ConfigurationForest,
    ConfigurationSpace,
)
from dtopt.twin.configure import FIELDS

__all__ = [
    "BEST_STATIC",
    "CONFIG_STRATEGIES",
    "CONFIG_TWIN",
    "LATENCY_BIN_S",
    "TWIN_HOMES",
    "arrival_rate_tps",
    "best_static_line",
    "config_outcome_lines",
    "latency_series",
    "metric_row",
    "needs_sweep",
    "needs_tuning",
    "parse_space",
    "parse_strategies",
    "run_config",
    "timeline",
]

CONFIG_TWIN = "Config twin"
#: Where the configuration twin starts and what it holds as home (see the module docstring).
TWIN_HOMES = ("tuned", "none")
BEST_STATIC = "Best static"
CONFIG_STRATEGIES = (CONFIG_TWIN, BEST_STATIC, TUNED_OFFLINE, "Clairvoyant space", "Bandit", LEARNED_FOREST)
#: Width of the bins of the latency-over-time figure (s of commit time).
LATENCY_BIN_S = 50.0


def parse_strategies(text: str) -> tuple[str, ...]:
    """``--config-strategies``: comma-separated names of :data:`CONFIG_STRATEGIES` (any case)."""
    known = {name.lower(): name for name in CONFIG_STRATEGIES}
    picked = [known.get(part.strip().lower()) for part in text.split(",") if part.strip()]
    if not picked or None in picked:
        raise DtoptError(f"--config-strategies: choose among {', '.join(CONFIG_STRATEGIES)}, got {text!r}")
    return tuple(dict.fromkeys(p for p in picked if p is not None))


def parse_space(text: str) -> ConfigurationSpace:
    """``--space``: ``"default"`` or the text form of a configuration space."""
    return ConfigurationSpace() if text.strip().lower() == "default" else ConfigurationSpace.parse(text)


def arrival_rate_tps(scenario: Scenario, duration_s: float) -> float:
    """The scenario's mean arrival rate over ``[0, duration_s)`` (tx/s), regimes weighted by time."""
    starts = [min(r.start_s, duration_s) for r in scenario.regimes] + [duration_s]
    spans = np.diff(starts)
    return float(np.dot(spans, [r.tx_rate_per_s for r in scenario.regimes]) / duration_s)


def needs_tuning(strategies: tuple[str, ...], twin_home: str = "tuned") -> bool:
    """Whether ``strategies`` need the configuration tuned offline (for itself or the twin's home)."""
    return TUNED_OFFLINE in strategies or (CONFIG_TWIN in strategies and twin_home == "tuned")


def needs_sweep(
    strategies: tuple[str, ...], clairvoyant_shortlist: int | None, twin_home: str = "tuned"
) -> bool:
    """Whether the static sweep must run first (for ``strategies``, the twin's home and the
    clairvoyant's shortlist)."""
    return BEST_STATIC in strategies or needs_tuning(strategies, twin_home) or bool(
        clairvoyant_shortlist and "Clairvoyant space" in strategies)


def metric_row(seed: int, strategy: str, run: ChainRun) -> dict[str, Any]:
    """One row of results.csv: a strategy's run on one seed (``config_changes``: blocks that
    carried a configuration change, i.e. changes put in force)."""
    m = run.metrics
    return {
        "seed": seed, "strategy": strategy, "mean_tx_latency_s": m.mean_tx_latency_s,
        "mean_block_latency_s": m.mean_block_latency_s, "mean_interblock_s": m.mean_interblock_s,
        "throughput_tps": m.throughput_tps, "n_blocks": m.n_blocks,
        "blocks_ibft": m.blocks_per_protocol.get("IBFT", 0),
        "blocks_bigfoot": m.blocks_per_protocol.get("BigFoot", 0),
        "config_changes": sum(b.change is not None for b in run.view.blocks),
    }


def latency_series(run: ChainRun, bin_s: float = LATENCY_BIN_S) -> list[float | None]:
    """Mean latency (s) of the transactions committed in each ``bin_s`` of commit time,
    ``None`` for a bin without any, from the run's view."""
    n_bins = max(1, int(np.ceil(run.chain.now_s / bin_s)))
    total, count = np.zeros(n_bins), np.zeros(n_bins)
    for block in run.view.blocks:
        k = min(int(block.committed_s // bin_s), n_bins - 1)
        total[k] += float(np.sum(block.committed_s - block.tx_arrival_s))
        count[k] += block.tx_arrival_s.size
    return [float(t / c) if c else None for t, c in zip(total, count, strict=True)]


def timeline(run: ChainRun) -> list[dict[str, Any]]:
    """The configuration in force, block by block: ``t_s`` (commit) and the four fields."""
    return [
        {"t_s": b.committed_s, **{theirs: getattr(b, theirs) for theirs in FIELDS.values()}}
        for b in run.view.blocks
    ]


def run_config(
    seed: int, scenario: Scenario, duration_s: float, replicas: int, space: ConfigurationSpace,
    strategies: tuple[str, ...] = CONFIG_STRATEGIES, clairvoyant_shortlist: int | None = None,
    static: BestStatic | None = None, tuned: Configuration | None = None, twin_home: str = "tuned",
) -> dict[str, Any]:
    """The configuration strategies on one seed: rows, the twin's timeline and decisions,
    and the latency over time of the twin and the statics.

    ``static``: this seed's static sweep (:func:`benchmarks.consensus.static_sweep.static_sweep`),
    needed for ``Best static`` and a clairvoyant shortlist; ``tuned``: the configuration
    tuned offline on the training seeds, needed for ``Tuned offline`` and for the twin's home
    (``twin_home``: ``"tuned"`` or ``"none"``, see the module docstring).
    ``clairvoyant_shortlist``: the space clairvoyant tries only the that many static
    configurations that kept up best (:func:`benchmarks.consensus.baselines.shortlist`)
    instead of the whole space, which costs a chain branch per configuration and interval.
    """
    check_choice("twin_home", twin_home, TWIN_HOMES)
    if static is None and (BEST_STATIC in strategies or (
            clairvoyant_shortlist and "Clairvoyant space" in strategies)):
        raise DtoptError("Best static and a clairvoyant shortlist need the seed's static sweep")
    if tuned is None and needs_tuning(strategies, twin_home):
        raise DtoptError("Tuned offline and the twin's home need the configuration tuned offline")
    logging.getLogger("dtopt.twin").setLevel(logging.ERROR)  # skipped intervals are in the records
    home = tuned if twin_home == "tuned" else None
    start = scenario if home is None else scenario_under(scenario, home)
    twin = DigitalTwin.from_scenario(start, replicas=replicas, seed=seed, space=space,
                                     home="initial" if home is not None else None)
    run = run_chain(start, "IBFT" if home is None else None, duration_s, seed, controller=twin)
    rows = [metric_row(seed, CONFIG_TWIN, run)] if CONFIG_TWIN in strategies else []
    series = {CONFIG_TWIN: latency_series(run)}
    statics = {BEST_STATIC: None if static is None else static.best.configuration, TUNED_OFFLINE: tuned}
    for label, configuration in statics.items():
        if label in strategies and configuration is not None:
            static_run = run_chain(scenario_under(scenario, configuration), None, duration_s, seed)
            rows.append(metric_row(seed, label, static_run))
            series[label] = latency_series(static_run)
    if "Clairvoyant space" in strategies:
        rows.append(metric_row(seed, "Clairvoyant space", run_chain(
            scenario, "IBFT", duration_s, seed, controller=SpaceClairvoyant(
                scenario, space, None if static is None else shortlist(static, clairvoyant_shortlist)))))
    if "Bandit" in strategies:
        bandit = BanditController(ConfigurationBandit(space, seed=seed), scenario.twin_interval_s)
        rows.append(metric_row(seed, "Bandit",
                               run_chain(scenario, "IBFT", duration_s, seed, controller=bandit)))
    if LEARNED_FOREST in strategies:
        forest = ForestController(ConfigurationForest(space, seed=seed), scenario.twin_interval_s)
        rows.append(metric_row(seed, LEARNED_FOREST,
                               run_chain(scenario, "IBFT", duration_s, seed, controller=forest)))
    return {
        "rows": rows,
        "best_static": None if static is None else static.best.configuration.label(),
        "tuned_offline": None if tuned is None else tuned.label(),
        "latency_series": {"bin_s": LATENCY_BIN_S, **series},
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


def best_static_line(configs: list[dict[str, Any] | None]) -> list[str]:
    """Which configuration was best in hindsight on each seed (``run_config`` results)."""
    best = [c["best_static"] for c in configs if c is not None and c["best_static"] is not None]
    if not best:
        return []
    counts = {label: best.count(label) for label in dict.fromkeys(best)}
    return ["Best static configuration in hindsight, seeds per configuration: "
            + "; ".join(f"{label}: {n}" for label, n in counts.items())]
