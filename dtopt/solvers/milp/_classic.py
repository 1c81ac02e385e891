"""The classic formulation, modelled in Pyomo, and its solution by HiGHS or any Pyomo solver.

Binary ``y_j`` (a server at j), continuous ``x_ij`` (node i served by j) for
candidate pairs only (admissible, and not ruled out by a bound),

    min (1/n) sum L_ij x_ij   s.t.  sum_j x_ij = 1,  x_ij <= y_j,  sum_j y_j = k.

``x`` may stay continuous: with ``y`` integral an optimal ``x`` sends each node
to its best open server anyway, and the disaggregated ``x_ij <= y_j`` keeps the
LP relaxation tight.

For HiGHS the Pyomo model is compiled by Pyomo's own standard-form compiler into
sparse matrices and handed over through ``highspy`` (skipping the per-constraint
translation layer); the LP relaxation is first solved over a priced subset of the
pairs (:func:`priced_relaxation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from dtopt.placement.problem import PlacementProblem
from dtopt.solvers.milp._highs import new_highs, run

if TYPE_CHECKING:
    import pyomo.environ as pyo

    from dtopt.solvers.milp._state import Search

__all__ = ["Compiled", "build_model", "compile_to_highs", "priced_relaxation"]

# The priced relaxation: cheapest candidate servers kept per node, the rounds of
# adding pairs before giving up, and the reduced cost that counts as negative.
_NEAREST_PAIRS = 16
_MAX_PRICING_ROUNDS = 100
_PRICING_TOLERANCE = 1e-12


def build_model(problem: PlacementProblem, pairs: NDArray[np.bool_] | None = None) -> pyo.ConcreteModel:
    """The Pyomo model of ``problem``: ``y[j]`` per site column, ``x[p]`` for admissible pair p.

    ``pairs``, shape ``(n, m)`` bool: model only these (admissible) pairs (default:
    every admissible pair). ``model.pair_node[p]`` / ``model.pair_server[p]`` give
    pair p's node and server. Fixed servers have ``y`` bounded below by 1.
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    n, m = problem.n, problem.n_sites
    keep = problem.admissible if pairs is None else pairs & problem.admissible
    node, server = np.nonzero(keep)  # row-major: pairs grouped by node
    n_pairs = len(node)
    model = pyo.ConcreteModel(name=f"dt-placement {problem.topology.name} k={problem.k}")
    model.pair_node, model.pair_server = node, server
    model.y = pyo.Var(range(m), within=pyo.Binary)
    for j in problem.fixed_columns.tolist():
        model.y[j].setlb(1)
    model.x = pyo.Var(range(n_pairs), bounds=(0, 1))
    # LinearExpression skips Pyomo's generic expression building: ~2x faster on big models.
    xs = [model.x[p] for p in range(n_pairs)]
    ys = [model.y[j] for j in range(m)]
    first = np.searchsorted(node, np.arange(n + 1))

    def assign(_: Any, i: int) -> Any:
        span = xs[first[i] : first[i + 1]]
        return LinearExpression(constant=0, linear_coefs=[1] * len(span), linear_vars=span) == 1

    model.assign = pyo.Constraint(range(n), rule=assign)
    model.link = pyo.Constraint(range(n_pairs), rule=lambda _, p: xs[p] <= ys[server[p]])
    model.count = pyo.Constraint(
        expr=LinearExpression(constant=0, linear_coefs=[1] * m, linear_vars=ys) == problem.k
    )
    coefs = objective_coefficients(problem)[node, server].tolist()
    model.latency = pyo.Objective(expr=LinearExpression(constant=0, linear_coefs=coefs, linear_vars=xs))
    return model


def objective_coefficients(problem: PlacementProblem) -> NDArray[np.float64]:
    """The objective's coefficient of each ``x_ij``, shape ``(n, m)``: ``cost_ij / n`` (ms,
    +inf where inadmissible), so the objective is the (weighted) mean latency."""
    return problem.cost_ms / problem.n


@dataclass(frozen=True, eq=False)
class Compiled:
    """A Pyomo model in HiGHS: the instance, and where the model's parts sit in it.

    column : Pyomo variable id -> HiGHS column; y_columns : shape ``(m,)``, the
    ``y[j]`` columns; assign_rows : shape ``(n,)``, the rows ``sum_j x_ij = 1``.
    """

    highs: Any
    model: pyo.ConcreteModel
    column: dict[int, int]
    y_columns: NDArray[np.intp]
    assign_rows: NDArray[np.intp]

    def start(self, problem: PlacementProblem, servers: NDArray[np.intp]) -> NDArray[np.float64]:
        """Column values of placement ``servers`` (pairs absent from the model are left out)."""
        values = np.zeros(len(self.column))
        values[self.y_columns[servers]] = 1.0
        best = servers[np.argmin(problem.cost_ms[:, servers], axis=1)]
        index = {
            (int(i), int(j)): p
            for p, (i, j) in enumerate(zip(self.model.pair_node, self.model.pair_server, strict=True))
        }
        for i, j in enumerate(best.tolist()):
            if (i, j) in index:
                values[self.column[id(self.model.x[index[i, j]])]] = 1.0
        return values


def compile_to_highs(
    model: pyo.ConcreteModel,
    problem: PlacementProblem,
    mip_gap: float,
    options: dict[str, Any],
    verbose: bool,
) -> Compiled:
    """A configured HiGHS instance holding ``model`` (compiled by Pyomo's standard-form compiler)."""
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler
    from pyomo.repn.util import FileDeterminism

    from dtopt.solvers.milp._highs import pass_arrays

    # ORDERED: every index set here is an ordered range already, so sorting is wasted work.
    form = LinearStandardFormCompiler().write(
        model, mixed_form=True, set_sense=None, file_determinism=FileDeterminism.ORDERED
    )
    columns = form.columns
    kind = np.array([row.bound_type for row in form.rows])
    rhs = np.asarray(form.rhs, dtype=float)
    highs = new_highs(verbose, mip_gap, options)
    pass_arrays(
        highs,
        form.A.tocsc(),
        np.asarray(form.c.toarray()).ravel(),
        float(form.c_offset[0]),
        (np.array([v.lb for v in columns], dtype=float), np.array([v.ub for v in columns], dtype=float)),
        # bound_type: 1 is <=, -1 is >=, 0 is ==
        (np.where(kind == 1, -np.inf, rhs), np.where(kind == -1, np.inf, rhs)),
        np.array([v.is_integer() for v in columns]),
    )
    column = {id(v): c for c, v in enumerate(columns)}
    row = {id(r.constraint): i for i, r in enumerate(form.rows)}
    return Compiled(
        highs=highs,
        model=model,
        column=column,
        y_columns=np.array([column[id(model.y[j])] for j in range(problem.n_sites)]),
        assign_rows=np.array([row[id(model.assign[i])] for i in range(problem.n)]),
    )


def priced_relaxation(
    problem: PlacementProblem,
    candidates: NDArray[np.bool_],
    search: Search,
    options: dict[str, Any],
    verbose: bool,
) -> Compiled | None:
    """The LP relaxation over a few pairs per node, grown until it is the full one's.

    Most candidate pairs are far-apart node-server pairs that no optimal solution
    uses, yet building, compiling and solving them is most of the time. The
    restricted model keeps each node's ``_NEAREST_PAIRS`` cheapest candidates and
    every server of the incumbent (so the LP is feasible when it covers every node).
    Column generation then proves it complete: an omitted pair (i, j) would enter
    with reduced cost ``c_ij - u_i`` (``u_i`` the dual of node i's assignment row;
    its own link row, slack, has dual 0), so while any is negative those pairs are
    added to HiGHS in place, with their link rows, and the LP re-solved from its
    basis. When none is negative the restricted optimum is the relaxation's optimum
    over all candidates: the HiGHS instance is returned, solved. ``None``: no
    conclusion (the caller goes on with the full model).
    """
    import highspy

    n, m = problem.n, problem.n_sites
    cost = objective_coefficients(problem)  # pricing must see exactly the model's costs
    if m <= _NEAREST_PAIRS:
        return None  # nothing to leave out
    nearest = np.argsort(np.where(candidates, cost, np.inf), axis=1, kind="stable")[:, :_NEAREST_PAIRS]
    pairs = np.zeros((n, m), dtype=bool)
    pairs[np.arange(n)[:, None], nearest] = True
    if search.servers is not None:
        pairs[:, search.servers] = True
    pairs &= candidates

    compiled = compile_to_highs(build_model(problem, pairs), problem, 0.0, options, verbose)
    highs = compiled.highs
    for _ in range(_MAX_PRICING_ROUNDS):
        if run(highs, search.deadline, relaxation=True) != highspy.HighsModelStatus.kOptimal:
            return None
        u = np.asarray(highs.getSolution().row_dual)[compiled.assign_rows]
        node, server = np.nonzero(candidates & ~pairs & (cost < u[:, None] - _PRICING_TOLERANCE))
        if node.size == 0:
            return compiled
        first = highs.getNumCol()
        count = node.size
        highs.addCols(
            count,
            cost[node, server],
            np.zeros(count),
            np.ones(count),
            count,
            np.arange(count, dtype=np.int32),
            compiled.assign_rows[node].astype(np.int32),
            np.ones(count),
        )
        link = np.column_stack([first + np.arange(count), compiled.y_columns[server]]).astype(np.int32)
        highs.addRows(
            count,
            np.full(count, -np.inf),
            np.zeros(count),
            2 * count,
            np.arange(0, 2 * count, 2, dtype=np.int32),
            link.ravel(),
            np.tile([1.0, -1.0], count),
        )
        pairs[node, server] = True
    return None
