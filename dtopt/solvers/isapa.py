"""ISAPA: improved simulated annealing placement (Wu et al., 2024, Algorithm 2), built on ``simanneal``.

The algorithm: a state is a set of k servers; a move adds a non-server (with
probability ``p_neighbour`` a graph neighbour of a random server) and drops the
server whose removal costs least (exact, O(n): random entering and best leaving
node, as Chiyoshi and Galvão's annealing for the p-median does; the paper swaps a
random server for a random node, which rarely finds the few moves out of a local
optimum under a tight error bound: see docs/methods-heuristics.md). The energy is
the mean penalised cost (ms): the mean latency, plus a penalty of twice the largest
latency for each node without an admissible server. That is finite, so at high
temperature the chain can cross infeasible placements (single swaps between feasible
ones may not exist when eps_max is tight), and it is above every admissible cost, so
low temperatures drive infeasible placements out. The best placement meeting eps_max
is remembered separately from simanneal's best-energy state. At each temperature T,
moves are accepted by the Metropolis rule ``exp(-delta / T) > u``, u uniform in
[0, 1) (the paper reuses its random number as the temperature: a typo we do not
copy). A counter of accepted worse moves is reset whenever the best placement
improves; the temperature level ends when it reaches ``num_max`` (or after
``steps_per_level`` moves, a cap the paper lacks: at low T worse moves are almost
never accepted, so the counter alone might never end a level). Then ``T <- rho *
T``, from ``T0`` down to ``T_final``.

How much of simanneal is reused, and why. ``Annealer.anneal()`` is one loop with
an exponential schedule tied to the step count (``T = Tmax * exp(-log(Tmax/Tmin)
* step / steps)``) and no hook to end a level early, so it cannot run the whole
of Algorithm 2. It can run one temperature level: with ``Tmax == Tmin == T`` it
is a constant-temperature Metropolis chain that keeps the best state and returns
to it at the end. So :class:`PlacementAnnealer` subclasses ``Annealer`` (``move``,
``energy``, ``copy_state``) and this module drives ``anneal()`` once per level:
the Metropolis step, the state restore on rejection and the best-state memory
are simanneal's. The num_max rule lives in ``update()``, simanneal's per-step
report hook (``updates`` is set so it fires after every step); it counts the
accepted worse moves and sets simanneal's own ``user_exit`` flag, which ends
``anneal()``'s loop. Consequences, all deliberate:

- every level starts from the best placement found so far (``anneal()`` returns
  to its best state), which is the paper's "memory";
- simanneal draws its acceptance numbers from the module-level :mod:`random`.
  Seeding that global state is not enough: other threads of the process (a dask
  worker's own) draw from it too, and their draws interleave with the run's
  (measured: the same seed gave different placements inside a dask sweep). So
  simanneal's reference to :mod:`random` is replaced by a stand-in that serves
  each thread from a ``random.Random`` the solver seeds from ``seed`` for the
  run, and from the real module otherwise; the caller's :mod:`random` is never
  touched;
- ``Annealer.__init__`` is not called: it installs a process-wide SIGINT handler
  (swallowing Ctrl-C for the rest of the process) and fails off the main thread;
- simanneal's progress printing is replaced: nothing is printed unless
  ``verbose``, then one line per temperature level on stderr.

Delta evaluation: a move costs O(n) with the nearest / second-nearest arrays of
:mod:`dtopt.solvers._swap`; only an accepted move pays O(n k) to rebuild them.

Deviations from the paper's algorithm. Two are defaults that can be switched
off (``init="random", polish=False`` is the paper's start and end): the start
is the greedy placement (repaired to cover every node) rather than k random
nodes, and the best placement is polished at the end by swap local search
(``interchange``'s). The others always apply: the finite penalty with a separate
feasible memory (the paper rejects infeasible neighbours), the per-level move
cap, and add-then-drop-the-best moves, neighbour-biased (``p_neighbour=0`` adds
uniform nodes). Temperatures are relative to the instance's latency scale (the greedy
placement's mean latency), so one default serves 10 and 700 nodes.
"""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import scipy.sparse
import simanneal.anneal
from numpy.typing import NDArray
from simanneal import Annealer

from dtopt.placement.problem import PlacementProblem
from dtopt.solvers._checks import check_bool, check_choice, check_int, check_real, check_seed
from dtopt.solvers._swap import Penalised, Servers, covering, greedy, local_search, random_placements
from dtopt.solvers.method import MethodOutput, register

__all__ = ["PlacementAnnealer", "isapa"]


@register("isapa", exact=False, summary="heuristic: improved simulated annealing (Wu et al., 2024, Alg. 2)")
def isapa(
    problem: PlacementProblem,
    *,
    seed: int = 0,
    T0: float = 0.1,
    T_final: float = 2e-3,
    rho: float = 0.8,
    num_max: int = 30,
    steps_per_level: int | None = None,
    p_neighbour: float = 0.5,
    init: str = "greedy",
    polish: bool = True,
    verbose: bool = False,
) -> MethodOutput:
    """Simulated annealing over placements with memory and a cap on worse moves.

    Options
    -------
    seed : seed of every random draw (moves, acceptance, random start).
    T0, T_final : start and final temperatures, as fractions of the latency
        scale (the greedy placement's mean latency, ms): at T0 = 0.1 a move
        worsening the mean latency by 10% of it is accepted with probability 1/e.
        0 < T_final < T0.
    rho : cooling factor, T <- rho * T after each level; in (0, 1).
    num_max : accepted worse moves (since the last improvement of the best) that
        end a temperature level; >= 1.
    steps_per_level : cap on the moves per level; ``None`` for ``max(80, n // 2)``.
    p_neighbour : probability that the node added is a non-server graph neighbour
        of a random server (when it has one; else a uniform non-server); in [0, 1].
    init : ``"greedy"`` (default: the greedy placement, repaired to cover every
        node when it does not and some placement can) or ``"random"`` (the paper's
        start).
    polish : finish with swap local search from the best placement.
    verbose : one line per temperature level on stderr.
    """
    seed = check_seed("isapa", seed)
    t0 = check_real("isapa", "T0", T0, lambda v: v > 0, "a positive fraction of the latency scale")
    t_final = check_real("isapa", "T_final", T_final, lambda v: 0 < v < t0, f"positive and below T0={t0:g}")
    rho = check_real("isapa", "rho", rho, lambda v: 0 < v < 1, "in (0, 1)")
    num_max = check_int("isapa", "num_max", num_max, minimum=1)
    steps = max(80, problem.n // 2) if steps_per_level is None else steps_per_level
    steps = check_int("isapa", "steps_per_level", steps, minimum=1)
    p_neighbour = check_real("isapa", "p_neighbour", p_neighbour, lambda v: 0 <= v <= 1, "in [0, 1]")
    init = check_choice("isapa", "init", init, ("greedy", "random"))
    polish = check_bool("isapa", "polish", polish)
    verbose = check_bool("isapa", "verbose", verbose)

    cost = Penalised.of(problem)
    m, k = problem.n_sites, problem.k
    if k == m or k == cost.fixed.size:  # one placement only
        return MethodOutput(greedy(cost, k), "feasible")
    rng = np.random.default_rng(seed)
    start = greedy(cost, k)
    scale_ms = _latency_scale(cost, start)
    if init == "random":
        start = random_placements(rng, m, k, 1, cost.fixed)[0]
    else:
        start = covering(problem, cost, start).servers
    annealer = PlacementAnnealer(
        Penalised.of(problem, soft=True), start, _neighbours(problem), rng, p_neighbour, num_max
    )
    annealer.steps = steps
    annealer.updates = steps + 1  # simanneal then calls update() after every step
    with _seeded_random(int(rng.integers(2**63))):
        temperature = t0 * scale_ms
        while temperature > t_final * scale_ms:
            annealer.Tmax = annealer.Tmin = temperature
            annealer.anneal()
            if verbose:
                print(
                    f"isapa: T={temperature:.4g} ms  best feasible={annealer.best_feasible_energy:.6g} ms  "
                    f"steps={annealer.level_steps}  worse accepted={annealer.worse_accepted}",
                    file=sys.stderr,
                )
            temperature *= rho
    found = annealer.best_feasible if annealer.best_feasible is not None else annealer.best_state
    best = found.servers
    if polish:
        best = local_search(cost, best).servers
    if annealer.best_feasible is None:
        best = covering(problem, cost, best).servers
    return MethodOutput(np.sort(best), "feasible")


@dataclass(eq=False)
class _State:
    """An annealing state: the servers, a server mask, and lazily built swap arrays.

    ``costs`` (each node's penalised cost, shape ``(n,)``) and ``energy`` (their
    mean, ms) are computed afresh for every state, so the energy never
    accumulates rounding error. ``arrays`` is a cache filled by the first move
    tried from this state: rejected moves, the common case at low temperature,
    cost O(n) each and only a kept state pays O(n k). Nothing else changes after
    construction, so states are shared rather than copied.
    """

    servers: NDArray[np.intp]
    is_server: NDArray[np.bool_]
    costs: NDArray[np.float64]
    energy: float
    arrays: Servers | None = None


class PlacementAnnealer(Annealer):
    """A simanneal :class:`~simanneal.Annealer` over placements (see the module docstring).

    Parameters
    ----------
    cost : the problem's penalised cost.
    servers : shape ``(k,)``, the starting placement.
    neighbours : CSR adjacency ``(indptr, indices)`` of the network.
    rng : draws the moves.
    p_neighbour : probability of adding a neighbour of the removed server.
    num_max : accepted worse moves since the last improvement that end a level.
    """

    def __init__(
        self,
        cost: Penalised,
        servers: NDArray[np.intp],
        neighbours: tuple[NDArray[np.intp], NDArray[np.intp]],
        rng: np.random.Generator,
        p_neighbour: float,
        num_max: int,
    ) -> None:
        # Annealer.__init__ is skipped on purpose: it installs a SIGINT handler.
        arrays = Servers.of(cost, servers)
        mask = np.zeros(cost.n_sites, dtype=bool)
        mask[arrays.servers] = True
        self.state = _State(arrays.servers, mask, arrays.d1, arrays.total / cost.n, arrays)
        self.cost, self.rng = cost, rng
        self.indptr, self.indices = neighbours
        self.p_neighbour, self.num_max = p_neighbour, num_max
        self.level_steps = self.worse_accepted = 0
        self._uniforms: list[float] = []
        self.best_feasible: _State | None = None
        self.best_feasible_energy = np.inf
        self._remember(self.state)

    def energy(self) -> float:
        """Mean penalised cost of the state (ms)."""
        return self.state.energy

    def move(self) -> None:
        """Add a site (often a neighbour of a random server) and drop the server whose removal costs least."""
        state, n = self.state, self.cost.n_sites
        if state.arrays is None:  # built once per state, shared by every move tried from it
            state.arrays = Servers.of(self.cost, state.servers)
        arrays = state.arrays
        added = -1
        if self._uniform() < self.p_neighbour:  # a free neighbour of a random server, if it has one
            server = state.servers[int(self._uniform() * len(state.servers))]
            around = self.indices[self.indptr[server] : self.indptr[server + 1]]
            around = around[~state.is_server[around]]
            if around.size:
                added = int(around[int(self._uniform() * around.size)])
        while added < 0 or state.is_server[added]:  # rejection sampling: uniform over non-servers
            added = int(self._uniform() * n)
        position, costs = arrays.best_removal(self.cost, added)
        mask = state.is_server.copy()
        mask[state.servers[position]], mask[added] = False, True
        self.state = _State(arrays.swapped(position, added), mask, costs, float(costs.sum()) / self.cost.n)

    def _uniform(self) -> float:
        """A uniform number in [0, 1) from ``rng``, drawn in blocks (per-call draws dominate otherwise)."""
        if not self._uniforms:
            self._uniforms = self.rng.random(4096).tolist()
        return self._uniforms.pop()

    def copy_state(self, state: _State) -> _State:
        """States are immutable: sharing them is a copy."""
        return state

    def update(
        self, step: int, T: float, E: float, acceptance: float | None, improvement: float | None
    ) -> None:
        """simanneal's per-step hook, here the num_max rule (nothing is printed)."""
        if step == 0:
            self.user_exit = False
            self.level_steps = self.worse_accepted = 0
            self.best_seen, self.previous = E, E
            return
        self.level_steps = step
        if self.best_energy < self.best_seen:
            self.best_seen, self.worse_accepted = self.best_energy, 0
        elif acceptance and E > self.previous:
            self.worse_accepted += 1
            self.user_exit = self.worse_accepted >= self.num_max
        self.previous = E
        self._remember(self.state)

    def _remember(self, state: _State) -> None:
        """Keep ``state`` if it is the best placement meeting eps_max so far."""
        if state.energy < self.best_feasible_energy and state.costs.max() < self.cost.penalty_ms:
            self.best_feasible, self.best_feasible_energy = state, state.energy


def _latency_scale(cost: Penalised, servers: NDArray[np.intp]) -> float:
    """Mean latency (ms) of the covered nodes under ``servers``; 1 ms if that is 0."""
    d1 = Servers.of(cost, servers).d1
    covered = d1[d1 < cost.penalty_ms]
    scale = float(covered.mean()) if covered.size else 0.0
    return scale if scale > 0 else 1.0


def _neighbours(problem: PlacementProblem) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """CSR adjacency of the candidate sites (columns) in the network: column j's
    neighbours are ``indices[indptr[j]:indptr[j+1]]``."""
    column = np.full(problem.topology.n_sites, -1, dtype=np.intp)
    column[problem.sites] = np.arange(problem.n_sites)
    edges = column[problem.topology.edges]
    edges = edges[(edges >= 0).all(axis=1)]  # links between two candidate sites
    n = problem.n_sites
    ones = np.ones(len(edges))
    adjacency = scipy.sparse.coo_array((ones, (edges[:, 0], edges[:, 1])), shape=(n, n))
    csr = (adjacency + adjacency.T).tocsr()
    return csr.indptr.astype(np.intp), csr.indices.astype(np.intp)


class _ThreadRandom(threading.local):
    """Stands in for the :mod:`random` module inside simanneal: a thread with a
    generator set (by :func:`_seeded_random`) draws from it, any other from the module."""

    generator: random.Random | None = None

    def __getattr__(self, name: str) -> object:
        return getattr(random if self.generator is None else self.generator, name)


_SIMANNEAL_RANDOM = _ThreadRandom()
simanneal.anneal.random = _SIMANNEAL_RANDOM  # type: ignore[attr-defined]


@contextmanager
def _seeded_random(seed: int) -> Iterator[None]:
    """simanneal's acceptance draws in this thread come from ``random.Random(seed)``."""
    saved = _SIMANNEAL_RANDOM.generator
    _SIMANNEAL_RANDOM.generator = random.Random(seed)
    try:
        yield
    finally:
        _SIMANNEAL_RANDOM.generator = saved
