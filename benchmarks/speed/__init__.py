"""Speed benchmarks, each run by its own name: ``python -m benchmarks.chain_speed`` (the chain
simulator), ``.oracle_speed`` (the oracle), ``.decision_speed`` (the twin's decision),
``.exact_speed`` (the exact placement solvers), ``.capacitated_speed`` (the capacitated MILP).
"""
