"""dtopt's benchmarks, each run as ``python -m benchmarks.<name>`` from the repository root.

One subpackage per study (``placement``, ``placement_variants``, ``orlib``, ``heuristics``,
``consensus``, ``speed``, ...), each with its command line, cases, tables and figures;
``common`` holds what they share: the output layout and the sweep back end. A run name
whose code lives in another study's package (``benchmarks.oracle_fidelity``,
``benchmarks.chain_speed``, ...) is a module that runs it.

Run that way, a Ctrl-C that arrives while the benchmark is still importing its
libraries (seconds on a busy machine) ends it like one during the run
(:func:`benchmarks.common.output.run_main`): one line on stderr, exit status 130.
"""

import os
import sys
from pathlib import Path


def _run_name() -> str:
    """The benchmark being run, as ``python -m`` names it (``benchmarks.placement``)."""
    try:
        path = Path(sys.argv[0]).resolve().relative_to(Path(__file__).resolve().parent)
    except ValueError:  # still locating the module: sys.argv[0] is "-m"
        return "benchmarks"
    return ".".join(["benchmarks", *(part for part in path.with_suffix("").parts if part != "__main__")])


def _interrupted_while_importing(exc_type, exc, tb):  # type: ignore[no-untyped-def]
    if issubclass(exc_type, KeyboardInterrupt):
        print(f"{_run_name()}: interrupted", file=sys.stderr, flush=True)
        os._exit(130)  # nothing has started yet that needs cleaning up
    sys.__excepthook__(exc_type, exc, tb)


# While `python -m` locates the module, sys.argv[0] is "-m"; imported any other way
# (tests, notebooks) the interpreter's own hook stays.
if sys.argv[:1] == ["-m"]:
    sys.excepthook = _interrupted_while_importing
