"""One seed of the consensus benchmark: every strategy's run (the static protocols,
the twins, the clairvoyant bound), the twin's choices against the hindsight-best
ones, and the checks that refuse a run before any seed starts."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.consensus.baselines import BestStatic
from benchmarks.consensus.config_strategies import CONFIG_STRATEGIES, metric_row, parse_space, run_config
from benchmarks.consensus.fidelity import EstimateRecorder, fidelity_rows
from benchmarks.consensus.hindsight import interval_wait_s, request_change
from dtopt.consensus import Scenario, load_scenario
from dtopt.consensus.chain import Chain, run_chain
from dtopt.consensus.limits import check_duration, check_run_size
from dtopt.twin import DigitalTwin, RoundOracle
from dtopt.twin.config_search import Configuration

__all__ = [
    "PROTOCOLS",
    "STRATEGIES",
    "TIE",
    "TWINS",
    "Clairvoyant",
    "Probe",
    "check_run",
    "hindsight_best",
    "run_seed",
    "scenario_of",
]

PROTOCOLS = ("IBFT", "BigFoot")
# Twin variants run on every seed (options of DigitalTwin); "Dynamic" is the default twin.
TWINS: dict[str, dict[str, Any]] = {
    "Dynamic": {},
    "Dynamic reactive": {"anticipate": "off"},
    "Dynamic h=0.05": {"hysteresis": 0.05},
    "Dynamic reactive h=0.05": {"anticipate": "off", "hysteresis": 0.05},
}
STRATEGIES = (*PROTOCOLS, *TWINS, "Clairvoyant")  # without --space
# Hindsight waits closer than this (relative) are a tie: either choice is best.
TIE = 0.01


def _switch(chain: Chain, scenario: Scenario, t_s: float, protocol: str) -> None:
    """Ask the producer the twin would ask (chosen on the true state) to carry a switch."""
    request_change(chain, scenario, t_s, {"protocol": protocol})


def hindsight_best(chain: Chain, scenario: Scenario, t_s: float) -> tuple[str, dict[str, float]]:
    """Run the next interval on a copy of the chain under each protocol; the least waiting wins.

    Ties (a switch that takes no effect within the interval) go to the protocol in force.
    """
    end_s = t_s + scenario.twin_interval_s
    waits = {}
    for protocol in PROTOCOLS:
        branch = pickle.loads(pickle.dumps(chain, protocol=pickle.HIGHEST_PROTOCOL))
        _switch(branch, scenario, t_s, protocol)
        branch.run_until(end_s)
        waits[protocol] = interval_wait_s(branch, t_s, end_s)
    return min(waits, key=lambda p: (waits[p], p != chain.protocol)), waits


@dataclass
class Clairvoyant:
    """Controller that applies the hindsight-best protocol of every interval."""

    scenario: Scenario
    choices: list[tuple[float, str]] = field(default_factory=list)

    def __call__(self, chain: Chain, t_s: float) -> None:
        best, _ = hindsight_best(chain, self.scenario, t_s)
        self.choices.append((t_s, best))
        _switch(chain, self.scenario, t_s, best)


@dataclass
class Probe:
    """Wraps a twin: records the hindsight-best protocol before each twin decision."""

    twin: DigitalTwin
    scenario: Scenario
    best: list[tuple[float, str, dict[str, float]]] = field(default_factory=list)

    def hits(self) -> tuple[int, int]:
        """Decisions equal to a hindsight-best protocol (either one on a tie within
        ``TIE`` relative), over the decisions for intervals in which no regime begins
        (the twin cannot have seen the new one)."""
        hits = counted = 0
        starts = np.array([r.start_s for r in self.scenario.regimes])
        interval_s = self.scenario.twin_interval_s
        for record, (t_s, best, waits) in zip(self.twin.records, self.best, strict=True):
            if np.any((starts >= t_s) & (starts < t_s + interval_s)) or record.error is not None:
                continue
            counted += 1
            tie = abs(waits["IBFT"] - waits["BigFoot"]) <= TIE * min(waits.values())
            hits += tie or record.chosen == best
        return hits, counted

    def __call__(self, chain: Chain, t_s: float) -> None:
        best, waits = hindsight_best(chain, self.scenario, t_s)
        self.best.append((t_s, best, waits))
        self.twin(chain, t_s)


def scenario_of(name: str, duration_s: float, seed: int, round_timer: str | None = None) -> Scenario:
    """The scenario ``name`` (preset or file), with ``round_timer`` if given (else its own)."""
    scenario = load_scenario(name, check_duration(duration_s), seed=seed)
    return scenario if round_timer is None else scenario.with_(round_timer=round_timer)


def check_run(name: str, duration_s: float, replicas: int, space: str | None = None,
              round_timer: str | None = None) -> None:
    """Refuse what would fail in every seed, before any runs: the scenario, the run's
    size (:mod:`dtopt.consensus.limits`), the oracle's replicas and the space."""
    scenario = scenario_of(name, duration_s, 1, round_timer)
    check_run_size(scenario, duration_s, twin=True)
    RoundOracle(scenario.config, replicas=replicas)
    if space is not None:
        DigitalTwin.from_scenario(scenario, replicas=replicas, space=parse_space(space))


def run_seed(
    seed: int,
    name: str,
    duration_s: float,
    replicas: int,
    space: str | None = None,
    config_strategies: tuple[str, ...] = CONFIG_STRATEGIES,
    clairvoyant_shortlist: int | None = None,
    swept: Mapping[int, BestStatic] | None = None,
    tuned: Configuration | None = None,
    round_timer: str | None = None,
    twin_home: str = "tuned",
) -> dict[str, Any]:
    """Every strategy, the twin's choice accuracy and the oracle's fidelity for one seed
    (and the configuration strategies over ``space``, if given, with ``swept[seed]``
    from the static sweep, the configuration ``tuned`` offline and the twin's home; see
    :func:`benchmarks.consensus.config_strategies.run_config`)."""
    scenario = scenario_of(name, duration_s, seed, round_timer)
    params = scenario.config
    statics, recorders = {}, {}
    for protocol in PROTOCOLS:
        recorders[protocol] = EstimateRecorder(params)
        statics[protocol] = run_chain(scenario, protocol, duration_s, seed, controller=recorders[protocol])
    twins = {
        label: DigitalTwin.from_scenario(scenario, replicas=replicas, seed=seed, **options)
        for label, options in TWINS.items()
    }
    probe = Probe(twins["Dynamic"], scenario)
    clairvoyant = Clairvoyant(scenario)
    runs = {
        **statics,
        **{
            label: run_chain(
                scenario, "IBFT", duration_s, seed, controller=probe if label == "Dynamic" else twin
            )
            for label, twin in twins.items()
        },
        "Clairvoyant": run_chain(scenario, "IBFT", duration_s, seed, controller=clairvoyant),
    }
    rows = [metric_row(seed, strategy, run) for strategy, run in runs.items()]
    config = (
        run_config(
            seed, scenario, duration_s, replicas, parse_space(space), config_strategies,
            clairvoyant_shortlist, static=None if swept is None else swept[seed], tuned=tuned,
            twin_home=twin_home,
        )
        if space
        else None
    )
    hits, counted = probe.hits()
    return {
        "rows": rows + (config["rows"] if config else []),
        "fidelity": fidelity_rows(scenario, statics, recorders, seed, replicas),
        "choice_hits": hits,
        "choice_counted": counted,
        "decisions": [r.to_dict() for r in twins["Dynamic"].records],
        "config": config,
    }
