"""Honest baselines over a configuration space, for the consensus benchmark.

Three ways to run the chain that a configuration-tuning twin has to beat:

* :func:`best_static`: every configuration of the space, run on the chain for the
  whole run, the best one kept (in hindsight: the lowest mean transaction latency
  among those whose throughput reaches ``throughput_share`` of the arrival rate,
  else the highest throughput; :func:`dtopt.twin.config_search.choose`).
* :class:`SpaceClairvoyant`: at every twin interval it branches the chain
  (:meth:`Chain.branches`), runs the next interval under each configuration
  (requested from the producer the twin would ask) and applies the one whose
  transactions waited least. Greedy, one interval at a time, with hindsight.
* :class:`BanditController`: a model-free online learner
  (:class:`dtopt.twin.config_search.ConfigurationBandit`) that sees only the
  chain's outside view: each interval it feeds the bandit the waiting time and
  throughput of the interval just ended under the configuration in force, and
  requests the bandit's next choice.

``python -m benchmarks._config_baselines [--scenario paper] [--duration 2000]
[--seed 1] [--space SPEC]`` times the first two on one seed and prints their
results (runs on one core; pin it with ``taskset -c 1``).
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import _sweep
from benchmarks._hindsight import backlog_at, interval_wait_s, request_change, trusted_producer
from benchmarks._output import BenchmarkParser, run_main, write_json
from dtopt.cli import exit_with
from dtopt.consensus import Scenario, load_scenario
from dtopt.consensus.chain import Chain, run_chain
from dtopt.consensus.limits import check_duration
from dtopt.consensus.metrics import chain_metrics
from dtopt.consensus.protocols import proposer_index
from dtopt.consensus.view import ChainView
from dtopt.errors import DtoptError
from dtopt.twin.config_search import Configuration, ConfigurationBandit, ConfigurationSpace, choose
from dtopt.twin.configure import configuration_in_force, configuration_of

__all__ = [
    "BanditController",
    "BestStatic",
    "SpaceClairvoyant",
    "StaticRow",
    "best_static",
    "next_voter",
    "observed_configuration",
    "pick_best",
    "scenario_under",
    "shortlist",
    "static_row",
]

#: Share of the arrival rate a static configuration must carry to count as keeping up.
THROUGHPUT_SHARE = 0.99


def scenario_under(scenario: Scenario, configuration: Configuration) -> Scenario:
    """``scenario`` with ``configuration`` in force from genesis (by the chain's one rule,
    :meth:`ChainConfig.switched`: the fast-path timeout keeps its ratio to the round timeout)."""
    return scenario.with_(config=scenario.config.switched(**configuration.to_dict()))


# --------------------------------------------------------------------------- best static


@dataclass(frozen=True)
class StaticRow:
    """One configuration run for the whole scenario.

    Attributes
    ----------
    configuration : the configuration in force throughout.
    mean_tx_latency_s : mean transaction latency (s); ``None`` if nothing was committed.
    throughput_tps : committed transactions per second of run.
    arrival_rate_tps : transactions that arrived per second of run (the same for every
        configuration: the seed fixes the arrivals).
    mean_interblock_s : mean time between blocks (s); ``None`` without blocks.
    timed_out_rounds : rounds that timed out.
    runtime_s : wall-clock time of the run (s).
    """

    configuration: Configuration
    mean_tx_latency_s: float | None
    throughput_tps: float
    arrival_rate_tps: float
    mean_interblock_s: float | None
    timed_out_rounds: int
    runtime_s: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.configuration.to_dict(), "mean_tx_latency_s": self.mean_tx_latency_s,
                "throughput_tps": self.throughput_tps, "arrival_rate_tps": self.arrival_rate_tps,
                "mean_interblock_s": self.mean_interblock_s, "timed_out_rounds": self.timed_out_rounds,
                "runtime_s": self.runtime_s}


@dataclass(frozen=True)
class BestStatic:
    """Every static configuration's run and the best in hindsight.

    Attributes
    ----------
    rows : one per configuration, in the space's enumeration order.
    best_index : index of the best row.
    required_tps : throughput a row had to reach to count as keeping up (tx/s).
    runtime_s : wall-clock time of all runs (s).
    """

    rows: tuple[StaticRow, ...]
    best_index: int
    required_tps: float
    runtime_s: float

    @property
    def best(self) -> StaticRow:
        return self.rows[self.best_index]

    def to_dict(self) -> dict[str, Any]:
        return {"rows": [r.to_dict() for r in self.rows], "best_index": self.best_index,
                "required_tps": self.required_tps, "runtime_s": self.runtime_s}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


def static_row(configuration: Configuration, scenario: Scenario, duration_s: float, seed: int) -> StaticRow:
    """Run ``scenario`` under ``configuration`` for ``duration_s`` (s) with ``seed``."""
    run = run_chain(scenario_under(scenario, configuration), None, duration_s, seed)
    m = run.metrics
    return StaticRow(
        configuration=configuration, mean_tx_latency_s=m.mean_tx_latency_s, throughput_tps=m.throughput_tps,
        arrival_rate_tps=len(run.view.tx_ids) / duration_s, mean_interblock_s=m.mean_interblock_s,
        timed_out_rounds=m.timed_out_rounds, runtime_s=run.runtime_s,
    )


def pick_best(rows: Sequence[StaticRow], throughput_share: float = THROUGHPUT_SHARE) -> tuple[int, float]:
    """Index of the best row and the throughput it had to reach (tx/s): the lowest mean latency
    among the rows reaching ``throughput_share`` of the arrival rate, else the highest throughput."""
    if not rows:
        raise DtoptError("no static runs to choose from")
    required = throughput_share * rows[0].arrival_rate_tps
    latency = [np.inf if r.mean_tx_latency_s is None else r.mean_tx_latency_s for r in rows]
    throughput = [r.throughput_tps for r in rows]
    return choose(latency, throughput, [t >= required for t in throughput]), required


def best_static(scenario: Scenario, space: ConfigurationSpace, duration_s: float, seed: int,
                *, throughput_share: float = THROUGHPUT_SHARE, **sweep: Any) -> BestStatic:
    """Every configuration of ``space`` run for the whole scenario; the best in hindsight.

    ``sweep``: :func:`benchmarks._sweep.run_cases` options (default: serial in this
    process; ``serial=False`` runs the configurations as dask tasks).
    """
    duration_s = check_duration(duration_s)
    if not 0.0 < throughput_share <= 1.0:
        raise DtoptError(f"throughput_share must be in (0, 1], got {throughput_share!r}")
    sweep = {"serial": True, **sweep}
    start = time.perf_counter()
    rows = tuple(_sweep.run_cases(
        functools.partial(static_row, scenario=scenario, duration_s=duration_s, seed=seed),
        space.configurations(), desc="configurations", **sweep,
    ))
    best, required = pick_best(rows, throughput_share)
    runtime_s = time.perf_counter() - start
    return BestStatic(rows=rows, best_index=best, required_tps=required, runtime_s=runtime_s)


# --------------------------------------------------------------------------- per-interval clairvoyant


def shortlist(static: BestStatic, max_candidates: int | None = None) -> tuple[Configuration, ...]:
    """The configurations whose static run kept up (reached the required throughput), lowest
    latency first, at most ``max_candidates``; if none kept up, all of them by throughput.

    A candidate set for :class:`SpaceClairvoyant` that skips what cannot carry the load.
    """
    rows = static.rows
    kept = sorted((r for r in rows if r.throughput_tps >= static.required_tps),
                  key=lambda r: r.mean_tx_latency_s or 0.0)
    ranked = kept or sorted(rows, key=lambda r: -r.throughput_tps)
    if max_candidates is not None and max_candidates < 1:
        raise DtoptError(f"max_candidates must be >= 1, got {max_candidates!r}")
    return tuple(r.configuration for r in ranked[:max_candidates])


@dataclass
class SpaceClairvoyant:
    """Controller that applies, at every twin interval, the configuration of ``space``
    under which the next interval's transactions wait least (run on branches of the chain).

    ``candidates``: the configurations tried (default: all of ``space``; e.g.
    :func:`shortlist` to skip those that cannot carry the load, a documented
    pruning: the bound is then over that subset). Ties go to the configuration in
    force, then to the earlier candidate. ``choices`` records
    ``(t_s, configuration, wait_s)`` per interval. Cost per interval: one branch and
    one interval of simulation per candidate.
    """

    scenario: Scenario
    space: ConfigurationSpace
    candidates: Sequence[Configuration] | None = None
    choices: list[tuple[float, Configuration, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.candidates is None:
            self._configurations = self.space.configurations()
        else:
            self._configurations = tuple(self.space[self.space.index(c)] for c in self.candidates)
            if not self._configurations:
                raise DtoptError("the clairvoyant needs at least one candidate configuration")

    @property
    def configurations(self) -> tuple[Configuration, ...]:
        """The candidates it tries at every interval."""
        return self._configurations

    def waits_s(self, chain: Chain, t_s: float, producer: str | None) -> np.ndarray:
        """Interval wait (s) under each candidate, shape ``(n_candidates,)``."""
        end_s = t_s + self.scenario.twin_interval_s
        backlog = backlog_at(chain, t_s)
        waits = np.empty(len(self._configurations))
        for i, (configuration, branch) in enumerate(
            zip(self._configurations, chain.branches(len(self._configurations)), strict=True)
        ):
            request_change(branch, self.scenario, t_s, configuration.to_dict(), producer)
            branch.run_until(end_s)
            waits[i] = interval_wait_s(branch, t_s, end_s, backlog)
        return waits

    def __call__(self, chain: Chain, t_s: float) -> None:
        producer = trusted_producer(chain, self.scenario, t_s)
        waits = self.waits_s(chain, t_s, producer)
        in_force = [c == configuration_of(chain.config) for c in self._configurations]
        best = int(np.lexsort((np.arange(waits.size), np.logical_not(in_force), waits))[0])
        chosen = self._configurations[best]
        self.choices.append((t_s, chosen, float(waits[best])))
        request_change(chain, self.scenario, t_s, chosen.to_dict(), producer)


# --------------------------------------------------------------------------- bandit


@dataclass
class BanditController:
    """Controller driving the chain's configuration with a model-free bandit, from the view only.

    Each interval ``[t - TI, t)`` it observes, from ``chain.view`` alone, the waiting
    time (:func:`interval_wait_s`) and the throughput of the interval, credits them
    to the configuration under which most of the interval's blocks were proposed
    (the blocks show it; an interval without blocks is credited to the one
    in force), and asks the bandit for the next configuration at the interval's
    arrival rate. The change goes to the first validator in the proposer rotation,
    from the height after next, that signed the interval's last block (it was online
    a moment ago); else to the first validator. ``choices`` records ``(t_s, configuration)``.
    """

    bandit: ConfigurationBandit
    interval_s: float
    choices: list[tuple[float, Configuration]] = field(default_factory=list)

    def __call__(self, chain: Chain, t_s: float) -> None:
        start_s = max(t_s - self.interval_s, 0.0)
        window = chain.view(start_s, t_s)
        observed = observed_configuration(chain, window, self.bandit.space)
        if observed is not None:
            metrics = chain_metrics(window)
            self.bandit.update(observed, interval_wait_s(chain, start_s, t_s), metrics.throughput_tps)
        chosen = self.bandit.select(arrival_rate_tps=len(window.tx_ids) / (t_s - start_s))
        self.choices.append((t_s, chosen))
        chain.request_config(next_voter(window), **chosen.to_dict())


def observed_configuration(
    chain: Chain, window: ChainView, space: ConfigurationSpace
) -> Configuration | None:
    """The configuration of most of the window's blocks (a tie: the earlier); without blocks,
    the one the last earlier block put in force; ``None`` if that is not in ``space``."""
    if window.blocks:
        shown = [configuration_of(b) for b in window.blocks]
        majority = max(dict.fromkeys(shown), key=shown.count)
    else:
        earlier = chain.view(0.0, window.start_s).blocks
        if not earlier:
            return None
        majority = configuration_in_force(earlier[-1])
    try:
        space.index(majority)
    except DtoptError:
        return None
    return majority


def next_voter(window: ChainView) -> str:
    """The validator that proposes soonest (from the height after next) among those that
    signed the window's last block; the first validator without blocks."""
    validators = window.validators
    if not window.blocks:
        return validators[0]
    last = window.blocks[-1]
    signed = {v.validator for v in last.votes} | {last.proposer}
    n = len(validators)
    return next(name for name in (validators[proposer_index(last.height + 2 + k, 0, n)] for k in range(n))
                if name in signed)


# --------------------------------------------------------------------------- timing


def build_parser() -> argparse.ArgumentParser:
    parser = BenchmarkParser(prog="python -m benchmarks._config_baselines",
                             description="time the best-static and clairvoyant baselines on one seed")
    parser.add_argument("--scenario", default="paper", help="scenario preset or file (default: paper)")
    parser.add_argument("--duration", type=float, default=2000.0, help="simulated seconds (default: 2000)")
    parser.add_argument("--seed", type=int, default=1, help="seed (default: 1)")
    parser.add_argument("--space", default="", help="configuration space text (default: the 128 defaults)")
    parser.add_argument("--shortlist", type=int, default=0, metavar="K",
                        help="the clairvoyant tries only the K best static configurations that kept up "
                             "(default 0: every configuration)")
    parser.add_argument("--out", default="", help="write both results as JSON to this file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    space = ConfigurationSpace.parse(args.space) if args.space else ConfigurationSpace()
    scenario = load_scenario(args.scenario, check_duration(args.duration), seed=args.seed)
    static = best_static(scenario, space, args.duration, args.seed)
    best = static.best
    print(f"best static over {len(space)} configurations: {static.runtime_s:.1f} s; best "
          f"{best.configuration.label()}: latency {best.mean_tx_latency_s:.2f} s, "
          f"throughput {best.throughput_tps:.2f} tx/s (required {static.required_tps:.2f})")
    candidates = shortlist(static, args.shortlist) if args.shortlist else None
    clairvoyant = SpaceClairvoyant(scenario, space, candidates)
    start = time.perf_counter()
    run = run_chain(scenario, None, args.duration, args.seed, controller=clairvoyant)
    elapsed = time.perf_counter() - start
    m = run.metrics
    print(f"clairvoyant over {len(clairvoyant.configurations)} configurations: {elapsed:.1f} s "
          f"({elapsed / max(len(clairvoyant.choices), 1):.2f} s per interval); latency "
          f"{m.mean_tx_latency_s:.2f} s, throughput {m.throughput_tps:.2f} tx/s")
    if args.out:
        write_json(Path(args.out), {
            "parameters": vars(args), "best_static": static.to_dict(),
            "clairvoyant": {"runtime_s": elapsed, "metrics": m.to_dict(),
                            "candidates": [c.to_dict() for c in clairvoyant.configurations],
                            "choices": [(t, c.to_dict(), w) for t, c, w in clairvoyant.choices]},
        })
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    from benchmarks import _config_baselines as _module

    exit_with(run_main(_module.main, prog="benchmarks._config_baselines"))
