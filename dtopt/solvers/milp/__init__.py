"""Exact placement as a mixed-integer program: ``solve(problem, "milp")``.

One deadline (``time_limit_s``) covers the whole solve, in this order, each step
handing what it learnt to the next and any step able to end it:

1. **Incumbent**: greedy + swap interchange (and the caller's ``warm_start``).
2. **Lagrangian bound** (:mod:`dtopt.solvers.lagrangian`): a lower bound (ms) and the
   node-server pairs and servers it proves no better placement can use, which are
   left out of the model; skipped when the Benders master runs with no tree before
   it (its LP bound is at least as strong, and its reduced costs close servers).
3. **Lagrangian tree** (:mod:`._tree`), for few servers: branch and bound over the
   servers with a Lagrangian bound at every node.
4. **Model**: the classic formulation (:mod:`._classic`, built in Pyomo), the
   radius formulation (:mod:`._radius`, arrays straight to HiGHS) over the pairs left,
   or its projection onto the servers left, solved with Benders cuts (:mod:`._benders`):
   HiGHS's branch and bound, started from the incumbent and cut off at its value (the
   classic model first solves its priced LP relaxation, an integral one is a proof; the
   Benders master reaches its LP bound by cutting planes).

At the deadline the best placement any step found comes back with status
``time_limit``, with the best bound any step proved.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dtopt.errors import DtoptError
from dtopt.placement.evaluate import server_indices
from dtopt.placement.feasibility import infeasibility_reason
from dtopt.placement.problem import PlacementProblem
from dtopt.solvers._checks import check_bool, check_choice, check_real
from dtopt.solvers._swap import Penalised, covering, greedy, local_search
from dtopt.solvers.lagrangian import LagrangianBound, lagrangian_bound
from dtopt.solvers.method import MethodOutput, register
from dtopt.solvers.milp._benders import solve_benders
from dtopt.solvers.milp._classic import build_model
from dtopt.solvers.milp._deadline import Deadline
from dtopt.solvers.milp._highs import new_highs
from dtopt.solvers.milp._model import answer, solve_classic, solve_radius
from dtopt.solvers.milp._pyomo import solve_with_pyomo
from dtopt.solvers.milp._state import OPTIMALITY_TOLERANCE, Search
from dtopt.solvers.milp._tree import lagrangian_tree

__all__ = [
    "BENDERS_DEFAULTS",
    "FORMULATIONS",
    "HIGHS_DEFAULTS",
    "OPTIMALITY_TOLERANCE",
    "RADIUS_DEFAULTS",
    "build_model",
    "milp",
]

FORMULATIONS = ("auto", "benders", "classic", "radius", "tree")

# The p-median LP relaxation is (nearly) integral, so HiGHS's feasibility-jump
# primal heuristic only delays the root LP that finds the optimum anyway.
HIGHS_DEFAULTS: dict[str, Any] = {"mip_heuristic_run_feasibility_jump": False}

# The radius model's HiGHS defaults (measured on OR-Library pmed16): presolve's probing
# took 18 of 20 s and removed 4% of the rows; the primal heuristics hunt for what the
# incumbent from greedy + swap and the Lagrangian placements already is, nearly always.
RADIUS_DEFAULTS: dict[str, Any] = {"presolve": "off", "mip_heuristic_effort": 0.01}
# The Benders master's (measured on pmed39): the sub-MIP heuristics (RINS, RENS, root
# reduced cost) took 7 of 30 s to look for the incumbent it starts from, and strong
# branching with the default reliability 14 s more. HiGHS solves the root LP of branch and
# bound from scratch (the cutting planes' basis is not handed over), where interior point
# beats dual simplex on the master's dense cut rows (one core, time_limit_s=300): TSPLIB
# rl1304 p = 100 5.9 s against 8.4 s, fl1400 p = 100 4.4 against 5.0 s (the node LPs still
# start from their parent's basis: fl1400 p = 200, 1,320 nodes, 161 s); the 40 OR-Library
# instances 111 s against 129 s.
BENDERS_DEFAULTS: dict[str, Any] = {
    **RADIUS_DEFAULTS,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_pscost_minreliable": 2,
    "mip_lp_solver": "ipm",
}

# Share of the time left that the Lagrangian bound may take, and its iterations at most.
_LAGRANGIAN_SHARE = 0.4
_LAGRANGIAN_ITERATIONS = 1000
# The Lagrangian tree runs first when k is at most this and n at least this, for at most
# this share of the time limit, mainly for the placements it finds: the model then keeps
# fewer servers and is cut off lower. Measured (time_limit_s=120, one core, the Benders
# master after it), without the tree and with 2%: gabriel/300/0, k = 10, 7.4 and 4.0 s;
# OR-Library pmed22 61.3 and 5.6 s (the tree finds the optimum in 0.3 s, greedy + swap
# stops 1% above it); pmed35 18.0 and 19.7 s; pmed39 21.8 and 22.9 s.
_TREE_MAX_K = 10
_TREE_MIN_N = 250
_TREE_SHARE = 0.02
# ... and it stops once this many nodes have passed since it last found a better
# placement: on networks where the model is quick it has nothing to add (with the default
# 600 s limit its share is 12 s). Measured one core, time_limit_s=120, against no such
# stop: gabriel/275/1, k = 10, 1.3 s against 2.8 s; gabriel/325/3 1.8 against 2.7 s;
# gabriel/300/0 4.5 against 4.6 s;
# pmed22 5.5 against 5.8 s; pmed39 23.6 against 22.3 s.
_TREE_STALL_NODES = 1000
# ... or this many seconds: a node of a large network costs more (TSPLIB fl1400, k = 10: 60
# ms, so its 2% share of a 300 s limit ended the tree after 73 nodes and 4.3 s without a
# better placement, and the master's LP then proved the incumbent optimal in 0.7 s). The
# tree's better placements come early: OR-Library pmed22 after 0.18 s.
_TREE_STALL_S = 1.0
_TREE_UNLIMITED_S = 120.0  # the time limit the share is of when there is none
# The Benders master replaces the radius model from this many nodes on. Measured
# (time_limit_s=120, one core): pmed6 (n = 200) 0.57 s against 2.95 s, pmed7 0.31
# against 0.16 s; with n >= 300 faster on every OR-Library instance tried but pmed15
# (0.46 against 0.24 s) and pmed37 (2.2 against 1.5 s), e.g. pmed28 1.2 against 5.1 s.
_BENDERS_MIN_N = 250
# No model is built when less than this share of the time limit is left: HiGHS could
# not even set it up in time (its MIP set-up does not watch the clock).
_MODEL_SHARE = 0.1


@register(
    "milp",
    exact=True,
    summary="exact: MILP (classic Pyomo model or radius formulation) on HiGHS or any Pyomo solver",
)
def milp(
    problem: PlacementProblem,
    *,
    solver: str = "highs",
    formulation: str = "auto",
    time_limit_s: float | None = 600.0,
    mip_gap: float = 0.0,
    warm_start: Iterable[int | str] | None = None,
    highs_options: dict[str, Any] | None = None,
    verbose: bool = False,
) -> MethodOutput:
    """Solve the placement MILP.

    Options
    -------
    solver : ``"highs"`` (default; HiGHS via highspy) or the name of any Pyomo
        solver installed here (``"appsi_highs"``, ``"cbc"``, ``"glpk"``, ``"gurobi"``...),
        which solves the classic model.
    formulation : ``"classic"`` (the Pyomo model), ``"radius"`` or ``"benders"``
        (HiGHS only), ``"tree"`` (Lagrangian branch and bound over the servers, no LP;
        the ``auto`` model only when there is no incumbent to bound against) or
        ``"auto"`` (with HiGHS: the radius model for n < 250; from 250 nodes the Benders
        master, after the tree for up to 2% of the time limit when k <= 10; classic with
        any other solver).
    time_limit_s : wall-clock limit of the whole solve (s), or ``None`` for none. At
        the limit the best placement found so far comes back with status
        ``time_limit`` and the best lower bound proved.
    mip_gap : relative optimality gap at which to stop (0 = prove optimality).
    warm_start : a placement (node names or indices) to start from (HiGHS only).
    highs_options : further HiGHS options by name, overriding :data:`HIGHS_DEFAULTS`
        (HiGHS only), e.g. ``{"random_seed": 7}``.
    verbose : print the solver's log.
    """
    deadline = Deadline.after(time_limit_s if _valid_limit(time_limit_s) else None)
    _check_options(solver, time_limit_s, mip_gap, verbose)
    formulation = check_choice("milp", "formulation", formulation, FORMULATIONS)
    if highs_options is not None and (solver != "highs" or not isinstance(highs_options, dict)):
        raise DtoptError("milp option highs_options must be a dict of HiGHS options, with solver='highs'")
    if solver != "highs" and formulation in ("benders", "radius", "tree"):
        raise DtoptError(f"milp option formulation={formulation!r} needs solver='highs'")
    start = None if warm_start is None else server_indices(problem, warm_start)
    if start is not None and solver != "highs":
        raise DtoptError("warm_start is supported with solver='highs' only")

    if problem.variant is not None:  # capacities or failures: their own models
        from dtopt.solvers.milp_variants import solve_variant

        if warm_start is not None or highs_options is not None or formulation != "auto":
            raise DtoptError(
                f"warm_start, highs_options and formulation do not apply to {problem.variant} problems"
            )
        return solve_variant(
            problem, solver=solver, time_limit_s=deadline.remaining_s(), mip_gap=mip_gap, verbose=verbose,
            uncapacitated=milp,
        )
    options = {**HIGHS_DEFAULTS, **(highs_options or {})}
    if solver == "highs":
        new_highs(False, mip_gap, options)  # refuses unknown options before any work
    search = Search(problem, deadline, progress=not verbose and sys.stderr.isatty())
    _incumbent(problem, search, start)
    if search.servers is None:
        # Greedy + swap repaired by the exact maximum-coverage program covers every
        # node when some placement can: the covering programs say why none can.
        reason = infeasibility_reason(problem)
        if reason is not None:
            return MethodOutput(None, "infeasible", reason=reason)
    if solver != "highs":
        return _explained(problem, solve_with_pyomo(problem, solver, search, mip_gap, verbose))
    if _master_alone(problem, formulation):
        # The master's LP bound is at least the Lagrangian one, and its reduced costs close
        # servers too: the Lagrangian's pair reductions bought nothing there. Measured (one
        # core, TSPLIB, time_limit_s=300), with and without it: rl1304 p = 500 2.9 against
        # 1.2 s, p = 50 2.6 against 1.6 s; fl1400 p = 20 2.1 against 0.9 s.
        candidates, cap_ms, root = problem.admissible, search.upper_ms, None
    else:
        candidates, cap_ms, root = _reduce(problem, search)
    remaining = deadline.remaining_s()
    if search.proven(mip_gap) or (remaining is not None and remaining < _MODEL_SHARE * deadline.limit_s):
        return answer(search, mip_gap, stopped=True)
    if formulation in ("auto", "tree") and root is not None:
        # The Lagrangian tree: a node costs milliseconds where the LP of a model with few
        # servers and many nodes costs minutes; with many servers its tree grows faster
        # than HiGHS's (OR-Library pmed5, k = 33: 25.7 s against well under 1 s).
        if formulation == "tree" or _few_servers(problem):
            cost = np.where(candidates, problem.cost_ms, np.inf)
            until_s = None if formulation == "tree" else _TREE_SHARE * (deadline.limit_s or _TREE_UNLIMITED_S)
            swaps = Penalised.of(problem)
            lagrangian_tree(
                cost,
                problem.k,
                root,
                search,
                until_s,
                lambda servers: local_search(swaps, servers).servers,
                stall_nodes=None if formulation == "tree" else _TREE_STALL_NODES,
                stall_s=None if formulation == "tree" else _TREE_STALL_S,
            )
            if formulation == "tree" or search.proven(mip_gap) or deadline.expired():
                return answer(search, mip_gap, stopped=True)
            if search.upper_ms < cap_ms:  # the tree found a better placement: fewer pairs
                candidates, cap_ms = _candidates(problem, search, root), search.upper_ms
    if formulation in ("auto", "tree"):
        # Both measured faster than the classic model on every network tried (TataNld,
        # OR-Library pmed3..25): no Pyomo build. The Benders master's LP takes seconds
        # where the radius model's takes minutes on many nodes (pmed39: 1.4 s against
        # more than 117 s); on small networks the radius model is quicker.
        formulation = "benders" if problem.n >= _BENDERS_MIN_N else "radius"
    if formulation == "classic":
        out = solve_classic(problem, candidates, cap_ms, search, mip_gap, options, verbose)
    elif formulation == "benders":
        options = {**HIGHS_DEFAULTS, **BENDERS_DEFAULTS, **(highs_options or {})}
        swaps = Penalised.of(problem)
        out = solve_benders(
            problem, _open_to(problem, candidates), cap_ms, search, mip_gap, options, verbose,
            polish=lambda servers: local_search(swaps, servers).servers,
        )  # fmt: skip
    else:
        options = {**HIGHS_DEFAULTS, **RADIUS_DEFAULTS, **(highs_options or {})}
        out = solve_radius(problem, candidates, cap_ms, search, mip_gap, options, verbose)
    return _explained(problem, out)


def _incumbent(problem: PlacementProblem, search: Search, start: NDArray[np.intp] | None) -> None:
    """Greedy + swap interchange (repaired to cover every node where it can), and ``start``."""
    cost = Penalised.of(problem)
    state = local_search(cost, greedy(cost, problem.k))
    if state.d1.max() >= cost.penalty_ms:
        state = local_search(cost, covering(problem, cost, state.servers).servers)
    search.offer(state.servers)
    search.offer(start)
    search.note("greedy + swap")


def _reduce(
    problem: PlacementProblem, search: Search
) -> tuple[NDArray[np.bool_], float, LagrangianBound | None]:
    """The candidate pairs, shape ``(n, m)``, the cost (ms) above which the model
    may exclude placements (inf: it excludes none), and the Lagrangian bound.

    Without an incumbent every admissible pair is a candidate. With one, the
    Lagrangian bound drops every pair and server that no placement better than the
    incumbent can use (``LagrangianBound.pair_bounds_ms``): the model then holds every such placement,
    and its bounds count only up to the incumbent's cost.
    """
    if search.servers is None:
        return problem.admissible, np.inf, None

    n = problem.n
    cost = problem.cost_ms
    assigned = search.servers[np.argmin(cost[:, search.servers], axis=1)]
    remaining = search.deadline.remaining_s()
    bound = lagrangian_bound(
        cost,
        problem.k,
        upper_bound_ms=search.upper_ms,
        max_iterations=_LAGRANGIAN_ITERATIONS,
        time_limit_s=None if remaining is None else _LAGRANGIAN_SHARE * remaining,
        multipliers_ms=cost[np.arange(n), assigned],  # the incumbent's latencies: a fair start
        fixed=problem.fixed_columns,
    )
    search.raise_bound(bound.bound_ms)
    if search.offer(bound.servers):
        search.offer(local_search(Penalised.of(problem), search.servers).servers)
    search.note(f"Lagrangian ({bound.iterations} steps)")
    return _candidates(problem, search, bound), search.upper_ms, bound


def _candidates(problem: PlacementProblem, search: Search, bound: LagrangianBound) -> NDArray[np.bool_]:
    """The pairs, shape ``(n, m)``, that a placement better than the incumbent may use."""
    n, cost = problem.n, problem.cost_ms
    assigned = search.servers[np.argmin(cost[:, search.servers], axis=1)]
    candidates = bound.pair_bounds_ms(cost) <= search.upper_ms * (1 + OPTIMALITY_TOLERANCE)
    candidates[np.arange(n), assigned] = True  # the incumbent, whatever the rounding
    return candidates


def _open_to(problem: PlacementProblem, candidates: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Shape ``(m,)``: the servers a model may open: those some candidate pair uses, and the fixed."""
    allowed = candidates.any(axis=0)
    allowed[problem.fixed_columns] = True
    return allowed


def _explained(problem: PlacementProblem, out: MethodOutput) -> MethodOutput:
    """``out``, with the reason of an infeasible problem worked out inside the solve's time."""
    if out.status == "infeasible" and out.reason is None:
        return MethodOutput(None, "infeasible", reason=infeasibility_reason(problem))
    return out


def _master_alone(problem: PlacementProblem, formulation: str) -> bool:
    """Whether the Benders master runs with no Lagrangian tree before it."""
    if formulation == "auto":
        return problem.n >= _BENDERS_MIN_N and not _few_servers(problem)
    return formulation == "benders"


def _few_servers(problem: PlacementProblem) -> bool:
    """Few servers among many nodes: where the tree's placements pay."""
    return problem.k <= _TREE_MAX_K and problem.n >= _TREE_MIN_N


def _valid_limit(time_limit_s: object) -> bool:
    return isinstance(time_limit_s, int | float) and not isinstance(time_limit_s, bool) and time_limit_s > 0


def _check_options(solver: object, time_limit_s: object, mip_gap: object, verbose: object) -> None:
    if not isinstance(solver, str) or not solver:
        raise DtoptError(f"milp option solver must be a solver name, got {solver!r}")
    if time_limit_s is not None:
        check_real(
            "milp", "time_limit_s", time_limit_s, lambda t: t > 0, "a positive number of seconds or None"
        )
    check_real("milp", "mip_gap", mip_gap, lambda g: 0 <= g < 1, "in [0, 1)")
    check_bool("milp", "verbose", verbose)
