"""Placement methods behind one interface: :func:`solve`."""

from dtopt.solvers.registry import Method, MethodOutput, available_methods, get_method, register, solve

__all__ = ["Method", "MethodOutput", "available_methods", "get_method", "register", "solve"]
