"""The configuration decision: a constrained argmin over a noisy, expensive cost function.

The cost function is a batched Monte Carlo estimator (the twin's oracle, or any
stand-in with its shape)::

    evaluate(batch: ConfigurationBatch, replicas: int) -> (latency_s, throughput_tps)

with two arrays of shape ``(len(batch), replicas)``: one sample per replica of
each configuration's mean latency (s) and throughput (tx/s) over the horizon.
Samples must be finite; calls must draw fresh randomness (a seeded generator
inside the evaluator), so that further replicas of a configuration add
information.

The rule: among the configurations whose predicted throughput reaches the
required rate ``(1 - throughput_slack) * arrival_rate_tps``, the one with the
lowest predicted mean latency; when none reaches it, the one with the highest
predicted throughput. Ties go to the lower enumeration index. A configuration
"reaches" the rate when its mean throughput is at least the rate less ``z``
standard errors of that mean. The allowances are needed, not cosmetic: a chain
that keeps up commits what arrives, so the throughput predicted for every
configuration with capacity to spare *is* the arrival rate, up to Monte Carlo
noise (and a horizon's end effects: what arrives in its last block time is not
yet committed); a strict ``mean >= rate`` would accept or reject each of them by
a coin flip. The defaults (1% slack, ``z = 2``) accept a configuration that
keeps up with near certainty and reject one whose capacity is short of the
rate by more than the noise.

Given the configuration in force (the *incumbent*), the rule is made stable: a
change must pay for itself. Every search evaluates the incumbent in every call,
so each other configuration's samples are paired with the incumbent's (common
random numbers: replica ``r`` of both saw the same arrivals and jitter). A
configuration ``c`` replaces the incumbent only if its paired predicted gain
``mean_r(lat_inc - lat_c)`` exceeds ``z`` paired standard errors plus the
switching cost ``switch_cost_s + switch_margin * lat_inc``; among those that do,
the lowest pessimistic latency ``lat_c + z * se_c + cost`` wins (ties: the
fewest fields changed, then the lower index). An incumbent that carries less
than the required rate, and less (beyond ``z`` standard errors and the slack)
than the best finalist carries, is left by the plain rule, its ties broken the
same way; one that falls short only as every finalist does (a horizon's end
effect) stays under the stable rule. The
replicas' spread thus decides whether a predicted gain is real, and the
switching cost stands for what the predictions do not see: the model's own
error and the change's passage through a block.

Given a *home* configuration as well (the one an operator tuned offline), the
search departs from it only where the predictions say clearly that it should: a
configuration other than home is admissible only if its paired predicted gain
over home exceeds ``z`` paired standard errors plus ``switch_cost_s +
departure_margin *`` home's predicted latency (or the share ``model_error``, the
cost function's recent relative error, if larger); home itself always is. A
home whose predicted throughput falls short of the required rate (or of the
best finalist's, if lower) by more than that share cannot carry the load: then
every configuration is admissible. The rules above then
choose among the admissible ones; an incumbent that is no longer admissible is
left for the admissible configuration the plain rule prefers, which is home
when nothing beats it clearly. A model that errs by less than the margin thus
cannot pull the chain away from a configuration known to be good, and the
chain returns home when the conditions that justified a departure end.

Two ways to estimate it, chosen by :class:`ConfigurationDecider`:

* ``exhaustive``: every configuration with ``replicas`` replicas, in one call.
  The reference; its cost, ``len(space) * replicas`` replica-evaluations, is
  the *exhaustive budget*.
* ``halving``: successive halving (Karnin, Koren and Somekh, "Almost optimal
  exploration in multi-armed bandits", 2013; Jamieson and Talwalkar 2016) on a
  budget of ``budget_fraction`` of the exhaustive budget. In ``K = ceil(log_eta n)``
  rungs, every surviving configuration receives ``budget / (K * survivors)``
  further replicas (one batched call per rung, samples accumulate across rungs)
  and the best ``1/eta`` survive. Ranking for survival is optimistic: by the
  latency's lower confidence bound (mean less ``z`` standard errors), so a
  configuration whose few samples were unlucky, typically a noisy one near the
  livelock cliff, is not eliminated early. The decision rule
  above then picks among the last rung's configurations. Replicas go where the
  decision is close: the last rungs give their few contenders more replicas
  each than the exhaustive search gives any configuration.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtopt.errors import DtoptError
from dtopt.solvers._checks import check_choice, check_int, check_real
from dtopt.twin.config_search.decision import ConfigurationDecision, ConfigurationEstimate
from dtopt.twin.config_search.pareto import pareto_mask
from dtopt.twin.config_search.space import Configuration, ConfigurationBatch, ConfigurationSpace
from dtopt.twin.config_search.tally import Tally

__all__ = [
    "METHODS",
    "ConfigurationDecider",
    "ConfigurationDecision",
    "ConfigurationEstimate",
    "Evaluate",
    "choose",
]

Evaluate = Callable[[ConfigurationBatch, int], tuple[ArrayLike, ArrayLike]]
METHODS = ("auto", "exhaustive", "halving")


def choose(mean_latency_s: ArrayLike, mean_throughput_tps: ArrayLike, meets_rate: ArrayLike) -> int:
    """Index of the decision rule's choice among ``(n,)`` estimates (see the module docstring).

    ``meets_rate`` says which of them reach the required rate.
    """
    lat = np.asarray(mean_latency_s, dtype=float)
    thr = np.asarray(mean_throughput_tps, dtype=float)
    meets = np.asarray(meets_rate, dtype=bool)
    if meets.any():
        # lexsort: last key first; infeasible ones pushed behind every feasible one.
        return int(np.lexsort((-thr, np.where(meets, lat, np.inf)))[0])
    return int(np.lexsort((lat, -thr))[0])


@dataclass(frozen=True)
class ConfigurationDecider:
    """Chooses a configuration with a budget of cost-function replicas.

    Parameters
    ----------
    replicas : replicas per configuration of the exhaustive search (>= 2); it
        defines the exhaustive budget ``len(space) * replicas``.
    budget_fraction : the halving search's budget as a fraction of the exhaustive one, in (0, 1].
    exhaustive_max : ``method="auto"`` evaluates spaces of at most this many configurations exhaustively.
    eta : the halving factor (>= 2): after each rung the best ``1/eta`` survive.
        Larger means fewer rungs, so fewer calls to ``evaluate``.
    throughput_slack : the required rate is ``(1 - throughput_slack) * arrival_rate_tps``, in [0, 1).
    z : allowance for Monte Carlo noise, in standard errors of a mean (>= 0): on the
        throughput when testing the rate, on the latency when ranking for survival,
        and on the paired gain over the configuration in force.
    switch_cost_s, switch_margin : the switching cost, ``switch_cost_s + switch_margin *``
        the incumbent's predicted latency (s, >= 0; margin in [0, 1)): the predicted gain a
        change must bring beyond the noise allowance (see the module docstring).
    departure_margin : with a home configuration, the share of home's predicted latency
        (in [0, 1)) that another configuration must be predicted to gain over it, beyond the
        noise allowance and ``switch_cost_s``, to be admissible (see the module docstring).
    """

    replicas: int = 256
    budget_fraction: float = 0.25
    exhaustive_max: int = 16
    eta: int = 2
    throughput_slack: float = 0.01
    z: float = 2.0
    switch_cost_s: float = 0.0
    switch_margin: float = 0.0
    departure_margin: float = 0.1

    def __post_init__(self) -> None:
        who = "ConfigurationDecider"
        check_int(who, "replicas", self.replicas, minimum=2)
        check_real(who, "budget_fraction", self.budget_fraction, lambda x: 0 < x <= 1, "in (0, 1]")
        check_int(who, "exhaustive_max", self.exhaustive_max, minimum=1)
        check_int(who, "eta", self.eta, minimum=2)
        check_real(who, "throughput_slack", self.throughput_slack, lambda x: 0 <= x < 1, "in [0, 1)")
        check_real(who, "z", self.z, lambda x: x >= 0, "a finite number >= 0")
        check_real(who, "switch_cost_s", self.switch_cost_s, lambda x: x >= 0, "a finite number >= 0")
        check_real(who, "switch_margin", self.switch_margin, lambda x: 0 <= x < 1, "in [0, 1)")
        check_real(who, "departure_margin", self.departure_margin, lambda x: 0 <= x < 1, "in [0, 1)")

    def decide(
        self, space: ConfigurationSpace, evaluate: Evaluate, arrival_rate_tps: float, method: str = "auto",
        incumbent: Configuration | None = None, home: Configuration | None = None,
        model_error: float = 0.0, capacity_error: float | None = None,
    ) -> ConfigurationDecision:
        """The configuration of ``space`` to run, estimated with ``evaluate``.

        ``arrival_rate_tps`` is the estimated arrival rate (tx/s, >= 0).
        ``method``: ``"auto"`` (exhaustive up to ``exhaustive_max`` configurations,
        halving above unless its budget would leave a configuration fewer than 2
        replicas in a rung), ``"exhaustive"`` or ``"halving"``.
        ``incumbent``: the configuration in force (in ``space``): it is evaluated in
        every call and kept unless a change pays for itself (module docstring).
        ``home``: the home configuration (in ``space``), evaluated in every call; others are
        admissible only with a clear predicted gain over it (module docstring).
        ``model_error``: the cost function's recent relative error, in [0, 1]: a departure
        from home must gain this share of home's latency if it exceeds ``departure_margin``.
        ``capacity_error`` (default ``model_error``): the same for the test of home's capacity.
        """
        if not isinstance(space, ConfigurationSpace):
            raise DtoptError(f"space must be a ConfigurationSpace, got {type(space).__name__}")
        rate = check_real("decide", "arrival_rate_tps", arrival_rate_tps, lambda x: x >= 0, ">= 0")
        check_choice("decide", "method", method, METHODS)
        unit = (lambda x: 0 <= x <= 1, "in [0, 1]")
        departure = max(self.departure_margin, check_real("decide", "model_error", model_error, *unit))
        capacity = departure if capacity_error is None else max(
            self.departure_margin, check_real("decide", "capacity_error", capacity_error, *unit))
        if method == "auto":
            small = len(space) <= self.exhaustive_max or self._rung_replicas(len(space))[1] < 2
            method = "exhaustive" if small else "halving"
        required = (1.0 - self.throughput_slack) * rate
        anchors = tuple(space.index(c) for c in (incumbent, home) if c is not None)
        tally = Tally(len(space), anchors)
        run = self._exhaustive if method == "exhaustive" else self._halving
        finalists, calls = run(space, evaluate, tally, required)
        return self._decision(space, tally, finalists, method, rate, required, calls,
                              incumbent is not None, None if home is None else (departure, capacity))

    def _exhaustive(
        self, space: ConfigurationSpace, evaluate: Evaluate, tally: Tally, required: float
    ) -> tuple[NDArray[np.int64], int]:
        everyone = np.arange(len(space))
        _evaluate_into(tally, space, evaluate, everyone, self.replicas)
        return everyone, 1

    def _halving(
        self, space: ConfigurationSpace, evaluate: Evaluate, tally: Tally, required: float
    ) -> tuple[NDArray[np.int64], int]:
        n = len(space)
        rungs, _ = self._rung_replicas(n)
        budget = int(self.budget_fraction * n * self.replicas)
        alive = np.arange(n)
        for rung in range(rungs):
            per_config = budget // (rungs * alive.size)
            if per_config < 2:
                raise DtoptError(
                    f"halving budget too small: {budget} replicas over {rungs} rungs leave {alive.size}"
                    f" configurations < 2 replicas each; raise replicas or budget_fraction"
                )
            _evaluate_into(tally, space, evaluate, alive, per_config)
            if rung == rungs - 1:
                break
            keep = math.ceil(alive.size / self.eta)
            alive = np.sort(alive[self._ranking(tally, alive, required)[:keep]])
            alive = np.union1d(alive, np.array(tally.anchors, dtype=np.int64))  # anchors always stay
        return alive, rungs

    def _rung_replicas(self, n: int) -> tuple[int, int]:
        """Halving over ``n`` configurations: its rungs, and the replicas each configuration gets
        in the first rung."""
        rungs = max(1, math.ceil(math.log(n) / math.log(self.eta) - 1e-9))
        return rungs, int(self.budget_fraction * n * self.replicas) // (rungs * n)

    def _ranking(self, tally: Tally, alive: NDArray[np.int64], required: float) -> NDArray[np.int64]:
        """Order of ``alive`` best first, optimistic about the throughput constraint."""
        (lat, thr), lat_std = tally.mean()[:, alive], tally.std()[0, alive]
        meets = tally.meets(required, self.z)[alive]
        optimistic_s = lat - self.z * lat_std / np.sqrt(tally.count[alive])
        # Those meeting the rate by optimistic latency first, then the others by throughput; ties as in
        # choose() (latency, then throughput, then index), so that without noise the two agree.
        keys = (alive, -thr, lat, np.where(meets, 0.0, -thr), np.where(meets, optimistic_s, np.inf))
        return np.lexsort(keys)

    def _decision(
        self, space: ConfigurationSpace, tally: Tally, finalists: NDArray[np.int64], method: str,
        rate: float, required: float, calls: int, incumbent: bool, shares: tuple[float, float] | None,
    ) -> ConfigurationDecision:
        seen = np.flatnonzero(tally.count)
        (lat, thr), (lat_std, thr_std) = tally.mean(), tally.std()
        meets = tally.meets(required, self.z)
        columns = zip(  # Python scalars once per column: cheaper than per-element numpy indexing
            space.batch(seen), *(a[seen].tolist() for a in (tally.count, lat, lat_std, thr, thr_std, meets)),
            strict=True,
        )
        estimates = tuple(ConfigurationEstimate(*column) for column in columns)
        anchor = tally.anchors[0] if incumbent else None
        admissible = finalists
        if shares is not None:
            admissible = finalists[self._admissible(
                tally, finalists, tally.anchors[-1], meets, *shares, required)]
        if anchor is None:
            best = int(admissible[choose(lat[admissible], thr[admissible], meets[admissible])])
            gain = gain_se = np.zeros(len(space))
        else:
            gain, gain_se = tally.gain(0)
            keeps_up = anchor in admissible and self._keeps_up(tally, anchor, finalists, meets)
            best = int(admissible[self._stable_choice(
                space, admissible, anchor, keeps_up, lat, meets, thr, gain, gain_se)])
        front = np.flatnonzero(pareto_mask(lat[seen], thr[seen]))
        at = {int(k): i for i, k in enumerate(seen)}
        return ConfigurationDecision(
            chosen=estimates[at[best]], method=method,
            arrival_rate_tps=rate, required_throughput_tps=required,
            replicas_used=int(tally.count.sum()), exhaustive_replicas=len(space) * self.replicas,
            calls=calls, estimates=estimates,
            pareto=tuple(estimates[k] for k in front[np.argsort(lat[seen][front], kind="stable")]),
            incumbent=None if anchor is None else estimates[at[anchor]],
            gain_s=float(gain[best]), gain_se_s=float(gain_se[best]),
        )

    def _keeps_up(self, tally: Tally, anchor: int, finalists: NDArray[np.int64], meets: NDArray) -> bool:
        """Whether ``anchor`` carries the required rate, or falls short only as every finalist does
        (within ``z`` standard errors and the slack of the best finalist's throughput)."""
        thr, thr_std = tally.mean()[1], tally.std()[1]
        thr_se = thr_std[anchor] / np.sqrt(max(tally.count[anchor], 1))
        best = (1.0 - self.throughput_slack) * thr[finalists].max()
        return bool(meets[anchor]) or bool(thr[anchor] + self.z * thr_se >= best)

    def _admissible(
        self, tally: Tally, finalists: NDArray[np.int64], home: int, meets: NDArray, departure: float,
        capacity: float, required: float,
    ) -> NDArray[np.bool_]:
        """Which ``finalists`` the home rule admits, a departure gaining ``departure`` of home's
        latency unless home falls short of the rate by more than ``capacity`` (module docstring)."""
        lat, thr = tally.mean()
        if thr[home] < (1.0 - capacity) * min(required, thr[finalists].max()):
            return np.ones(finalists.size, dtype=bool)  # home is short of capacity beyond the margin
        gain, gain_se = tally.gain(len(tally.anchors) - 1)
        margin = self.switch_cost_s + departure * lat[home]
        clear = meets[finalists] & (gain[finalists] - self.z * gain_se[finalists] > margin)
        return (finalists == home) | clear

    def _stable_choice(
        self, space: ConfigurationSpace, finalists: NDArray[np.int64], anchor: int, keeps_up: bool,
        lat: NDArray, meets: NDArray, thr: NDArray, gain: NDArray, gain_se: NDArray,
    ) -> int:
        """Position in ``finalists`` of the stable rule's choice (see the module docstring)."""
        changed = _fields_changed(space, finalists, anchor)
        others = finalists != anchor
        if keeps_up:
            cost = self.switch_cost_s + self.switch_margin * lat[anchor]
            worth = meets[finalists] & (gain[finalists] - self.z * gain_se[finalists] > cost)
            eligible = ~others | worth
            pessimistic = lat[finalists] + others * (self.z * gain_se[finalists] + cost)
            return int(np.lexsort((finalists, changed, np.where(eligible, pessimistic, np.inf)))[0])
        # the incumbent falls short of the rate: the plain rule, ties to the fewest changes
        f_lat, f_thr, f_meets = lat[finalists], thr[finalists], meets[finalists]
        if f_meets.any():
            return int(np.lexsort((finalists, changed, -f_thr, np.where(f_meets, f_lat, np.inf)))[0])
        return int(np.lexsort((finalists, changed, f_lat, -f_thr))[0])


def _fields_changed(space: ConfigurationSpace, indices: NDArray[np.int64], anchor: int) -> NDArray[np.int64]:
    """How many of the four fields each configuration at ``indices`` changes from ``anchor``'s."""
    batch, ref = space.batch(indices), space.batch([anchor])
    columns = ("protocol_index", "max_block_size_mb", "min_block_interval_s", "round_timeout_s")
    return sum((getattr(batch, c) != getattr(ref, c)[0]).astype(np.int64) for c in columns)


def _evaluate_into(
    tally: Tally, space: ConfigurationSpace, evaluate: Evaluate, indices: NDArray[np.int64], replicas: int
) -> None:
    """One call of ``evaluate`` on ``indices``; its samples checked and added to ``tally``."""
    latency_s, throughput_tps = evaluate(space.batch(indices), replicas)
    lat = np.asarray(latency_s, dtype=float)
    thr = np.asarray(throughput_tps, dtype=float)
    shape = (indices.size, replicas)
    if lat.shape != shape or thr.shape != shape:
        raise DtoptError(f"evaluate must return two arrays of shape {shape}, got {lat.shape} and {thr.shape}")
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(thr))) or np.any(lat < 0) or np.any(thr < 0):
        raise DtoptError("evaluate returned a negative or non-finite latency or throughput sample")
    tally.add(indices, lat, thr)
