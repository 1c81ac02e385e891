"""The ``dtopt`` command line.

Each sub-command lives in its own module with a ``register(subparsers)`` function
that adds its parser and sets ``func``; this module only dispatches and turns
bad input into one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from dtopt.errors import DtoptError

__all__ = ["exit_with", "main", "run"]

# Sub-command modules, in the order ``dtopt --help`` lists them.
_COMMANDS = ("place", "pareto", "topologies", "chain", "twin", "pipeline")


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (with a pointer to --help), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full ``dtopt`` parser with every sub-command registered."""
    import importlib

    parser = _Parser(
        prog="dtopt", description="Optimisation toolkit for digital twins of blockchain systems."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in _COMMANDS:
        importlib.import_module(f"dtopt.cli.{name}").register(sub)
    return parser


def exit_with(status: int) -> NoReturn:
    """End the process with ``status``.

    After an interrupt (130) the process leaves through ``os._exit``, once its output is
    flushed: CPython otherwise kills itself with SIGINT at exit when the Ctrl-C landed in
    code a C extension runs while it is imported, even though the interrupt was handled.
    """
    if status == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    sys.exit(status)


def run() -> NoReturn:
    """The ``dtopt`` command: :func:`main` on ``sys.argv``, then exit with its status."""
    exit_with(main())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad input, 130 interrupted)."""
    try:
        args = build_parser().parse_args(argv)  # imports the sub-commands' libraries
        return int(args.func(args) or 0)
    except DtoptError as err:
        print(f"dtopt: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dtopt: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as Unix tools do.
        sys.stderr.close()
        return 0
