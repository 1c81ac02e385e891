"""Every static configuration on every seed, once: ``Best static`` and ``Tuned offline``.

One sweep of (seed, configuration) cases on the dask back end
(:mod:`benchmarks._sweep`) serves both static baselines of
``benchmarks.consensus --space``:

* ``Best static`` (hindsight): on each test seed, the best configuration of that
  seed's own runs (:func:`benchmarks._config_baselines.pick_best`), an unreachable
  bound since it knows the seed's future;
* ``Tuned offline``: the configuration that does best on the *training* seeds
  (:data:`TRAINING_SEEDS` unless given; disjoint from the test seeds), by the same
  rule applied to each configuration's mean over those seeds
  (:func:`tuned_offline`), then run unchanged on every test seed. This is what a
  careful operator does: tune once on what was seen, then leave the chain alone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from benchmarks import _sweep
from benchmarks._config_baselines import BestStatic, StaticRow, pick_best, static_row
from dtopt.consensus import Scenario, load_scenario
from dtopt.errors import DtoptError
from dtopt.twin.config_search import Configuration, ConfigurationSpace

__all__ = ["TRAINING_SEEDS", "TUNED_OFFLINE", "parse_seeds", "static_sweep", "tuned_offline"]

TUNED_OFFLINE = "Tuned offline"
#: Seeds a tuned-offline operator tunes on (disjoint from the default test seeds 1..N).
TRAINING_SEEDS = tuple(range(101, 111))


def parse_seeds(text: str, what: str = "--training-seeds") -> tuple[int, ...]:
    """Seeds from text: ``"101-110"``, ``"3,5,8"`` or a mix (``"1-3,7"``); distinct, >= 0."""
    seeds: list[int] = []
    try:
        for part in (p.strip() for p in text.split(",")):
            low, _, high = part.partition("-")
            first, last = int(low), int(high or low)
            if first < 0 or last < first:
                raise ValueError
            seeds.extend(range(first, last + 1))
    except ValueError:
        raise DtoptError(f"{what}: seeds like 101-110 or 3,5,8 (integers >= 0), got {text!r}") from None
    if len(set(seeds)) != len(seeds):
        raise DtoptError(f"{what}: a seed is given twice in {text!r}")
    return tuple(seeds)


def _case(case: tuple[int, Configuration], scenario_of: Callable[[int], Scenario], duration_s: float
          ) -> StaticRow:
    seed, configuration = case
    return static_row(configuration, scenario_of(seed), duration_s, seed)


def static_sweep(
    name: str | Callable[[int], Scenario], duration_s: float, space: ConfigurationSpace, seeds: Sequence[int],
    **sweep: Any,
) -> dict[int, BestStatic]:
    """Every configuration of ``space`` run for ``duration_s`` (s) with each of ``seeds``; per
    seed its rows and the best in hindsight.

    ``name``: a scenario preset or file (:func:`~dtopt.consensus.load_scenario` of it up to
    ``duration_s`` with the seed), or a picklable ``seed -> Scenario``. ``sweep``:
    :func:`benchmarks._sweep.run_cases` options.
    """
    scenario_of = (functools.partial(load_scenario, name, duration_s) if isinstance(name, str) else name)
    configurations = space.configurations()
    cases = [(seed, c) for seed in seeds for c in configurations]
    rows = _sweep.run_cases(functools.partial(_case, scenario_of=scenario_of, duration_s=duration_s), cases,
                            desc="static configurations", **sweep)
    out = {}
    for k, seed in enumerate(seeds):
        mine = tuple(rows[k * len(configurations):(k + 1) * len(configurations)])
        best, required = pick_best(mine)
        out[seed] = BestStatic(rows=mine, best_index=best, required_tps=required,
                               runtime_s=sum(r.runtime_s for r in mine))
    return out


def tuned_offline(statics: Mapping[int, BestStatic], training_seeds: Sequence[int]) -> Configuration:
    """The configuration that does best over ``training_seeds`` (only those of ``statics`` are read).

    Each configuration's rows are averaged over the seeds (mean latency, infinite if
    it committed nothing on some seed; mean throughput and arrival rate), and the
    hindsight rule picks among the averages: the lowest mean latency among those
    whose mean throughput reaches the required share of the mean arrival rate, else
    the highest mean throughput.
    """
    if not training_seeds:
        raise DtoptError("tuning offline needs at least one training seed")
    per_seed = [statics[seed].rows for seed in training_seeds]
    averaged = []
    for rows in zip(*per_seed, strict=True):
        latency = [np.inf if r.mean_tx_latency_s is None else r.mean_tx_latency_s for r in rows]
        averaged.append(StaticRow(
            configuration=rows[0].configuration,
            mean_tx_latency_s=float(np.mean(latency)) if np.isfinite(latency).all() else None,
            throughput_tps=float(np.mean([r.throughput_tps for r in rows])),
            arrival_rate_tps=float(np.mean([r.arrival_rate_tps for r in rows])),
            mean_interblock_s=None, timed_out_rounds=sum(r.timed_out_rounds for r in rows),
            runtime_s=sum(r.runtime_s for r in rows),
        ))
    return averaged[pick_best(averaged)[0]].configuration
