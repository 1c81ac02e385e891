"""The digital twin: the MAPE-K loop that picks the chain's consensus protocol or configuration.

Every twin interval :class:`DigitalTwin` is called as a ``run_chain`` controller
``twin(chain, t_s)`` and runs

monitor (``chain.view``) -> analyse -> what-if scenarios -> plan (oracle) ->
decide -> execute (``chain.request_switch``),

or, given a configuration space, decides over the whole configuration
(protocol, block size, block interval, round timeout) with a
:class:`~dtopt.twin.config_search.ConfigurationDecider` whose cost function is
the oracle, and executes with ``chain.request_config``;

with its knowledge (bandwidth estimates, backlog, the history of regime changes)
kept between calls. Bad interval data never stops the run: what the monitor and
the analysis raise for it (:class:`~dtopt.twin.monitor.IntervalDataError`) makes
the twin log one line on the ``dtopt.twin`` logger, keep the protocol in force and
wait for the next interval. Any other exception is a bug and surfaces.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dtopt._validate import check_int
from dtopt.consensus.config import ChainConfig
from dtopt.consensus.protocols import get_protocol
from dtopt.errors import DtoptError
from dtopt.twin.analyse import Analyser, Estimate
from dtopt.twin.anticipate import SeasonalForecaster
from dtopt.twin.config_search import (
    DEFAULT_PROTOCOLS,
    Configuration,
    ConfigurationDecider,
    ConfigurationDecision,
    ConfigurationSpace,
)
from dtopt.twin.configure import FIELDS, changes, configuration_in_force, configuration_of, oracle_sampler
from dtopt.twin.decide import Decider, Decision
from dtopt.twin.execute import choose_producer, execute, execute_config, producer_height
from dtopt.twin.model_error import ModelError
from dtopt.twin.monitor import IntervalData, IntervalDataError, Monitor, WatchedChain
from dtopt.twin.oracle import OracleState, RoundOracle
from dtopt.twin.plan import Plan, make_plan
from dtopt.twin.record import TwinRecord
from dtopt.twin.regimes import RegimeMemory
from dtopt.twin.scenarios import AS_ESTIMATED, FORECAST, WhatIf, what_if_scenarios

__all__ = ["ANTICIPATION", "SWITCH_COST_S", "SWITCH_MARGIN", "DigitalTwin", "TwinRecord"]

# How the twin uses the history of inferred states (see DigitalTwin).
ANTICIPATION = ("seasonal", "off")
#: The configuration twin's default switching cost: a change must be predicted to gain more
#: than this (s) plus this share of the latency in force, beyond the replicas' noise.
SWITCH_COST_S = 0.25
SWITCH_MARGIN = 0.05

logger = logging.getLogger("dtopt.twin")


class DigitalTwin:
    """Twin-managed dynamic consensus selection (a ``run_chain`` controller).

    Parameters
    ----------
    config : the chain's configuration (``scenario.config``).
    interval_s : twin interval TI (s), the oracle's horizon.
    protocols : candidate protocols (default IBFT and BigFoot; DPoS may be added).
    replicas : oracle Monte Carlo replicas per scenario.
    seed : oracle seed (same seed and data, same decisions).
    hysteresis : relative predicted gain needed to switch (see :class:`Decider`).
    criterion : prediction the decision ranks, ``"wait"`` or ``"latency"`` (see :class:`Decider`).
    anticipate : how the history of inferred states is used: ``"seasonal"``
        (default) learns whether the offline sets repeat with a period
        (:class:`SeasonalForecaster`) and, once they do, decides for the next
        interval's forecast: the protocol with the lowest expected prediction over
        the offline sets the same phase of earlier cycles held (the current
        bandwidth, rate and backlog estimates kept); until then, and whenever no
        period predicts better than persistence, it acts as ``"off"``: the plain
        reactive twin, deciding for the state just seen.
    trusted : producers allowed to carry a switch (default: every validator).
    dropout, recovered : also simulate the what-if scenarios "slowest validator
        drops out" and "offline validators return" (their predictions are recorded;
        the decision rests on the as-estimated or forecast scenarios).
    space : a configuration space: the twin then chooses the whole configuration
        each interval (``None``, default: the protocol only, among ``protocols``).
        Checked against the chain's message model
        (:meth:`ConfigurationSpace.validate_against`).
    search : how the space is searched (default ``ConfigurationDecider(replicas)``:
        exhaustive up to 16 configurations, successive halving on a quarter of the
        exhaustive budget above). Its cost function is the oracle over the same
        states the protocol decision rests on (weighted forecast states, or the
        state as estimated), ranking ``criterion`` subject to predicted throughput
        reaching the estimated arrival rate; hysteresis does not apply: the
        configuration in force is kept unless a change pays for the search's
        switching cost and the replicas' spread (default: 0.25 s plus 5% of its
        predicted latency, two paired standard errors).
    regime_risk : with a configuration space, weigh the risk of a regime change
        (:class:`~dtopt.twin.regimes.RegimeMemory`): with the learned probability of a
        change, the next interval is one of the other regimes seen so far (at most
        ``regime_risk`` of them, the most frequent; 0 = off).
    horizon_s : with a configuration space, the oracle's horizon per sample (s; default
        two twin intervals: a configuration chosen now is in force for the next interval,
        and a change back only takes effect after the next decision reaches a block, so
        what it costs, such as a long timeout meeting offline proposers later in the
        rotation, falls into the interval after).
    from_change : with a configuration space, evaluate every configuration from the
        height at which a change requested now would take effect (the one after the
        trusted producer's next block, round 0) rather than from the round in progress.
    home : with a configuration space, the home configuration: the one an operator
        tuned offline, which the twin leaves only for a configuration predicted to beat it
        clearly (:class:`~dtopt.twin.config_search.ConfigurationDecider`'s
        ``departure_margin``) and returns to when that is no longer so. ``"initial"``
        (default): the chain's configuration ``config`` if the space holds it; ``None``:
        no home, every decision rests on the predictions alone.
    """

    def __init__(
        self,
        config: ChainConfig,
        interval_s: float,
        *,
        protocols: Sequence[str] = DEFAULT_PROTOCOLS,
        replicas: int = 256,
        seed: int = 0,
        hysteresis: float = 0.0,
        criterion: str = "wait",
        anticipate: str = "seasonal",
        trusted: Sequence[str] | None = None,
        dropout: bool = False,
        recovered: bool = False,
        space: ConfigurationSpace | None = None,
        search: ConfigurationDecider | None = None,
        regime_risk: int = 2,
        horizon_s: float | None = None,
        from_change: bool = True,
        home: Configuration | str | None = "initial",
    ) -> None:
        if not isinstance(config, ChainConfig):
            raise DtoptError(f"config must be a ChainConfig (scenario.config), got {type(config).__name__}")
        self.config = config
        self.interval_s = float(interval_s)
        self.protocols = tuple(get_protocol(p).name for p in protocols)
        if not self.protocols:
            raise DtoptError("the twin needs at least one candidate protocol")
        self.oracle = RoundOracle(config, replicas=replicas, seed=seed)
        self.monitor = Monitor(config.validators)
        self.analyser = Analyser(config)
        self.decider = Decider(hysteresis, criterion)
        if anticipate not in ANTICIPATION:
            raise DtoptError(f"anticipate must be one of {', '.join(ANTICIPATION)}, got {anticipate!r}")
        self.anticipate = anticipate
        self.forecaster = SeasonalForecaster(self.interval_s) if anticipate == "seasonal" else None
        self.trusted = tuple(config.validators if trusted is None else trusted)
        unknown = sorted(set(self.trusted) - set(config.validators))
        if unknown or not self.trusted:
            raise DtoptError(f"trusted producers must be validators of the chain, got {list(self.trusted)}")
        self.dropout = bool(dropout)
        self.recovered = bool(recovered)
        self.records: list[TwinRecord] = []
        self._asked: dict[str, float] = {}  # producer -> time it was asked to carry a switch
        self.space = space
        self.search = search
        self.seed = int(seed)
        self.regimes = RegimeMemory(max_others=check_int("regime_risk", regime_risk, minimum=0))
        self.horizon_s = 2.0 * self.interval_s if horizon_s is None else float(horizon_s)
        if not np.isfinite(self.horizon_s) or self.horizon_s <= 0:
            raise DtoptError(f"horizon_s must be a finite number > 0, got {horizon_s!r}")
        self.from_change = bool(from_change)
        if space is not None:
            if not isinstance(space, ConfigurationSpace):
                raise DtoptError(f"space must be a ConfigurationSpace, got {type(space).__name__}")
            space.validate_against(
                tx_size_mb=config.tx_size_mb, min_message_delay_s=config.min_message_delay_s
            )
            self.search = ConfigurationDecider(
                replicas=replicas, switch_cost_s=SWITCH_COST_S, switch_margin=SWITCH_MARGIN,
            ) if search is None else search
        elif search is not None:
            raise DtoptError("a configuration search needs a configuration space (space=...)")
        self.home = self._home(home)
        self.model_error = ModelError()

    def _home(self, home: Configuration | str | None) -> Configuration | None:
        if home is None or self.space is None:
            return None
        if home == "initial":
            initial = configuration_of(self.config, timer=bool(self.space.round_timers))
            return initial if initial in self.space else None
        if not isinstance(home, Configuration) or home not in self.space:
            raise DtoptError(f"home must be 'initial', None or a configuration of the space, got {home!r}")
        return home

    @classmethod
    def from_scenario(cls, scenario: Any, **kwargs: Any) -> DigitalTwin:
        """A twin for a :class:`~dtopt.consensus.scenario.Scenario`'s static configuration."""
        return cls(scenario.config, scenario.twin_interval_s, **kwargs)

    def __call__(self, chain: WatchedChain, t_s: float) -> None:
        """One MAPE-K iteration at chain time ``t_s``."""
        in_force, t_s = str(chain.protocol), float(t_s)
        try:
            data = self.monitor.observe(chain, t_s)
            estimate = self.analyser.analyse(data)
        except IntervalDataError as err:  # bad interval data: skip it (anything else is a bug)
            logger.warning("t=%gs: skipping interval (%s); keeping %s", t_s, err, in_force)
            self.model_error.expect(None)  # the next interval is not the one predicted
            self.records.append(
                TwinRecord(t_s=t_s, in_force=in_force, chosen=in_force, switched=False, error=str(err))
            )
            return
        if self.space is not None:
            self.records.append(self._configure(chain, data, estimate, t_s))
            return
        plan, decision = self.decide(data, estimate, in_force)
        self.records.append(self._execute(chain, data, estimate, plan, decision, t_s, in_force))

    def _reask(self, chain: WatchedChain, data: IntervalData, ask: Callable[[str], None]) -> None:
        """A producer asked earlier that has not proposed since still holds that
        request: re-ask it with the current choice (``ask(producer)``), so a stale
        request is never carried later."""
        for block in data.view.blocks:
            if self._asked.get(block.proposer, np.inf) < block.proposed_s:
                del self._asked[block.proposer]
        for name in self._asked:
            ask(name)

    def _producer(self, state: OracleState, t_s: float, keeping: str) -> str | None:
        last = self.analyser.last_block
        in_force = self.config.replace(protocol=configuration_in_force(last).protocol) if last else None
        producer = choose_producer(state, self.config.validators, self.trusted, in_force)
        if producer is None:
            logger.warning("t=%gs: no trusted producer believed online; keeping %s", t_s, keeping)
        else:
            self._asked[producer] = t_s
        return producer

    def _execute(
        self, chain: WatchedChain, data: IntervalData, estimate: Estimate, plan: Plan, decision: Decision,
        t_s: float, in_force: str,
    ) -> TwinRecord:
        # re-asked with the protocol chosen now (dropped by the chain if already in force)
        self._reask(chain, data, lambda name: execute(chain, decision.protocol, name))
        producer = None
        if decision.switch:
            producer = self._producer(plan.state(decision.scenario), t_s, in_force)
            if producer is not None:
                execute(chain, decision.protocol, producer)
        return TwinRecord(
            t_s=t_s,
            in_force=in_force,
            chosen=decision.protocol,
            switched=producer is not None,
            producer=producer,
            basis=dict(zip(decision.weighed, decision.weights or (1.0,), strict=True)),
            offline=estimate.offline,
            criterion=self.decider.criterion,
            predicted_score_s=decision.predicted_score_s,
            predicted_latency_s=decision.predicted_latency_s,
            what_if_latency_s={name: plan.metric(name) for name in plan.scenarios},
        )

    def _configure(
        self, chain: WatchedChain, data: IntervalData, estimate: Estimate, t_s: float
    ) -> TwinRecord:
        """Decide and execute over the configuration space (``space`` given)."""
        assert self.analyser.last_block is not None  # the analysis raised otherwise
        assert self.space is not None
        current = configuration_in_force(self.analyser.last_block, timer=bool(self.space.round_timers))
        basis, decision = self.decide_config(data, estimate, current)
        chosen = decision.configuration
        # re-asked with the whole configuration chosen now: whatever is in force when
        # the producer proposes, the block then moves the chain to it
        full = {theirs: getattr(chosen, mine) for mine, theirs in FIELDS.items()
                if getattr(chosen, mine) is not None}  # a timer the space does not tune stays
        self._reask(chain, data, lambda name: execute_config(chain, name, full))
        wanted = changes(current, chosen)
        producer = None
        if wanted:
            producer = self._producer(basis[0][1], t_s, current.label())
            if producer is not None:
                execute_config(chain, producer, wanted)
        return TwinRecord(
            t_s=t_s,
            in_force=current.protocol,
            chosen=chosen.protocol,
            switched=producer is not None,
            producer=producer,
            basis={name: w for name, _, w in basis},
            offline=estimate.offline,
            criterion=self.decider.criterion,
            in_force_config=current,
            chosen_estimate=decision.chosen,
            changes=wanted if producer is not None else {},
            pareto=decision.pareto,
        )

    def think(self, data: IntervalData, in_force: str) -> tuple[Estimate, Plan, Decision]:
        """Analyse, generate what-if scenarios, plan and decide on one checked interval."""
        estimate = self.analyser.analyse(data)
        return (estimate, *self.decide(data, estimate, in_force))

    def _basis(
        self, data: IntervalData, estimate: Estimate
    ) -> tuple[tuple[WhatIf, ...], list[tuple[str, float]]]:
        """The what-if scenarios, and the forecast scenarios the decision rests on with their
        probabilities (none: the decision rests on the state as estimated)."""
        outlook: dict[tuple[str, ...], float] = {}
        if self.forecaster is not None:
            self.forecaster.observe(data.view.start_s, estimate.offline)
            outlook = self.forecaster.forecast() or {}
        scenarios = what_if_scenarios(
            estimate,
            self.config.validators,
            dropout=self.dropout and self.space is None,
            recovered=self.recovered and self.space is None,
            forecast_offline=list(outlook),
        )
        if outlook:  # the decision rests on the forecast; the state just seen is not planned
            scenarios = tuple(s for s in scenarios if s.name != AS_ESTIMATED)
        return scenarios, [(FORECAST + ",".join(offline), w) for offline, w in outlook.items()]

    def decide(self, data: IntervalData, estimate: Estimate, in_force: str) -> tuple[Plan, Decision]:
        """What-if scenarios, plan (oracle) and decision on an analysed interval."""
        scenarios, forecast = self._basis(data, estimate)
        plan = make_plan(self.oracle, scenarios, self.protocols, self.interval_s)
        if forecast:
            names, weights = zip(*forecast, strict=True)
            decision = self.decider.decide(plan, in_force, list(names), weights=list(weights))
        else:
            decision = self.decider.decide(plan, in_force, AS_ESTIMATED)
        return plan, decision

    def _after_change(self, state: OracleState) -> OracleState:
        """``state`` as it will be when a change requested now takes effect: at the start of
        the height after the block that carries it (its round, pool and timing as now)."""
        last = self.analyser.last_block
        if last is not None and get_protocol(configuration_in_force(last).protocol).slots:
            return state  # DPoS: slots, not rounds, carry the change
        height = producer_height(state, self.config.validators, self.trusted)
        if height is None:
            return state
        return state.with_(next_height=height + 1, round_elapsed_s=0.0)

    def decide_config(
        self, data: IntervalData, estimate: Estimate, current: Configuration | None = None
    ) -> tuple[list[tuple[str, OracleState, float]], ConfigurationDecision]:
        """The configuration decision on an analysed interval: the states it rests on, each
        named and with its probability, and the decision. ``current``, the configuration in
        force, is kept unless a change pays for itself (outside the space: no such preference)."""
        assert self.space is not None and self.search is not None
        scenarios, forecast = self._basis(data, estimate)
        by_name = {s.name: s.state for s in scenarios}
        basis = [(name, by_name[name], w) for name, w in forecast] or [
            (AS_ESTIMATED, by_name[AS_ESTIMATED], 1.0)]
        self.regimes.observe(estimate.state)
        basis = self.regimes.mix(basis, estimate.state)
        states = [(self._after_change(st) if self.from_change else st, w) for _, st, w in basis]
        evaluate = oracle_sampler(
            self.oracle, states,
            self.horizon_s, self.config, self.decider.criterion,
            # a fresh, reproducible stream per decision
            seed=int(np.random.SeedSequence([self.seed, len(self.records)]).generate_state(1)[0]),
        )
        incumbent = current if current is not None and current in self.space else None
        self.model_error.observe(data.wait_s)
        decision = self.search.decide(
            self.space, evaluate, estimate.state.tx_rate_per_s, incumbent=incumbent, home=self.home,
            model_error=self.model_error.value(), capacity_error=self.model_error.measured())
        if self.decider.criterion == "wait":  # the measured wait is comparable with this one only
            self.model_error.expect(decision.chosen.mean_latency_s)
        return basis, decision
