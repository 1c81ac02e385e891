"""dtopt's benchmarks, each run as ``python -m benchmarks.<name>`` from the repository root.

Run that way, a Ctrl-C that arrives while the benchmark is still importing its
libraries (seconds on a busy machine) ends it like one during the run
(:func:`benchmarks._output.run_main`): one line on stderr, exit status 130.
"""

import os
import sys
from pathlib import Path


def _interrupted_while_importing(exc_type, exc, tb):  # type: ignore[no-untyped-def]
    if issubclass(exc_type, KeyboardInterrupt):
        print(f"benchmarks.{Path(sys.argv[0]).stem}: interrupted", file=sys.stderr, flush=True)
        os._exit(130)  # nothing has started yet that needs cleaning up
    sys.__excepthook__(exc_type, exc, tb)


# While `python -m` locates the module, sys.argv[0] is "-m"; imported any other way
# (tests, notebooks) the interpreter's own hook stays.
if sys.argv[:1] == ["-m"]:
    sys.excepthook = _interrupted_while_importing
