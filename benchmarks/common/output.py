"""Output helpers shared by every benchmark: one ``--out DIR`` layout for all.

A benchmark run with ``--out DIR`` writes::

    DIR/results.csv    one row per case (flat columns)
    DIR/results.json   {"benchmark", "created", "environment", "parameters", "rows", ...}
    DIR/summary.md     the human summary (Markdown)
    DIR/*.png          figures (matplotlib, Agg backend)

and prints its Markdown table to stdout. Benchmarks exit with status 2 and one
line on stderr on bad input (:func:`run_main`).
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import math
import os
import platform
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from dtopt._validate import check_output_dir
from dtopt.errors import DtoptError

__all__ = [
    "BenchmarkError",
    "BenchmarkParser",
    "environment",
    "format_value",
    "markdown_table",
    "new_figure",
    "out_dir",
    "progress",
    "registered_methods",
    "report_check",
    "report_written",
    "run_main",
    "save_figure",
    "show_progress",
    "write_csv",
    "write_json",
    "write_summary",
]


class BenchmarkError(DtoptError):
    """Bad benchmark input (unknown suite, bad range, unreachable scheduler...).

    ``exit_status``: what :func:`run_main` exits with (2, bad input, unless a subclass says otherwise).
    """

    exit_status = 2


Row = Mapping[str, Any]


def format_value(value: Any, digits: int = 4) -> str:
    """A cell as text: ``None`` is empty, floats get ``digits`` significant digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.{digits}g}"
    if isinstance(value, list | tuple):
        return " ".join(format_value(v, digits) for v in value)
    return str(value)


def markdown_table(
    rows: Iterable[Row],
    columns: Sequence[str] | Mapping[str, str],
    *,
    digits: int = 4,
) -> str:
    """Render ``rows`` as a GitHub Markdown table.

    ``columns`` lists the keys to show, or maps each key to its header text.
    Numeric columns are right-aligned; ``|`` inside a cell is escaped.
    """
    headers = dict(columns) if isinstance(columns, Mapping) else {c: c for c in columns}
    rows = list(rows)
    cells = [[format_value(row.get(key), digits).replace("|", "\\|") for key in headers] for row in rows]
    numeric = [
        all(isinstance(row.get(key), int | float) or row.get(key) is None for row in rows) and bool(rows)
        for key in headers
    ]
    lines = ["| " + " | ".join(headers.values()) + " |"]
    lines.append("|" + "|".join("---:" if num else "---" for num in numeric) + "|")
    lines.extend("| " + " | ".join(line) + " |" for line in cells)
    return "\n".join(lines)


def out_dir(path: str | os.PathLike[str]) -> Path:
    """Create (if needed) and return the output directory, once it is known to be writable
    (:class:`BenchmarkError` otherwise), before the benchmark's run, not after it."""
    return check_output_dir(path, error=BenchmarkError)


def report_written(out: Path, names: Iterable[str]) -> None:
    """Say where the results went (stderr, so stdout keeps the table alone)."""
    print(f"wrote {', '.join(names)} to {out}/", file=sys.stderr)


def write_csv(path: str | os.PathLike[str], rows: Iterable[Row], columns: Sequence[str]) -> Path:
    """Write ``rows`` (only ``columns``, in that order) as CSV; lists become ``;``-joined."""
    path = Path(path)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(row.get(c)) for c in columns])
    return path


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, float):
        return repr(value)  # round-trips exactly
    return value


def write_json(path: str | os.PathLike[str], payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` as indented JSON (NaN/inf become ``null``)."""
    path = Path(path)
    path.write_text(json.dumps(_finite(payload), indent=2, default=str) + "\n")
    return path


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_summary(path: str | os.PathLike[str], title: str, sections: Iterable[tuple[str, str]]) -> Path:
    """Write ``summary.md``: a title and ``(heading, markdown body)`` sections."""
    parts = [f"# {title}", ""]
    for heading, body in sections:
        parts += [f"## {heading}", "", body.rstrip(), ""]
    path = Path(path)
    path.write_text("\n".join(parts))
    return path


def environment() -> dict[str, Any]:
    """Where a benchmark ran: enough to judge its runtimes."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def new_figure(ncols: int = 1, *, width_in: float = 5.0, height_in: float = 3.6) -> tuple[Any, Any]:
    """A matplotlib figure on the Agg backend (no display needed) and its axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width_in * ncols, height_in), squeeze=False)
    return fig, axes[0] if ncols > 1 else axes[0, 0]


def save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Save ``fig`` as PNG (150 dpi, tight) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def show_progress(force: bool = False) -> bool:
    """Progress bars on an interactive terminal (never in CI), or when ``force``d."""
    return force or (sys.stderr.isatty() and not os.environ.get("CI"))


def progress(total: int, desc: str, *, force: bool = False) -> Any:
    """A tqdm bar on a terminal (or ``force``d); a silent stand-in (same ``update``/``close``) otherwise."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="case", disable=not show_progress(force), file=sys.stderr)


class BenchmarkParser(argparse.ArgumentParser):
    """A benchmark's argument parser: usage errors are one line (with a pointer to --help), exit 2."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
def add_solve_arguments(parser: argparse.ArgumentParser, time_limit_s: float) -> None:
    """The options of a benchmark of solves against published optima: ``--time-limit-s``
    (default ``time_limit_s``), ``--out`` and ``--check`` (see :func:`check_time_limit`)."""
    parser.add_argument("--time-limit-s", type=float, default=time_limit_s,
                        help=f"per-solve time limit (default {time_limit_s:g})")
    parser.add_argument("--out", help="write results.csv, results.json and summary.md here")
    parser.add_argument("--check", action="store_true", help="exit 1 on any wrong answer (see module doc)")


def check_time_limit(time_limit_s: float) -> float:
    """``--time-limit-s``, or :class:`BenchmarkError` unless it is > 0."""
    if not time_limit_s > 0:
        raise BenchmarkError(f"--time-limit-s must be > 0, got {time_limit_s}")
    return time_limit_s


def registered_methods(text: str | None) -> list[str]:
    """``--methods``: comma-separated registered placement methods (``None``: every one),
    in the order given; :class:`BenchmarkError` naming any unknown one, or none given."""
    import dtopt

    registered = list(dtopt.available_methods())
    methods = registered if text is None else [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in registered]
    if unknown or not methods:
        raise BenchmarkError(
            f"unknown method(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(registered)}"
        )
    return methods


def report_check(problems: Sequence[str], passed: str) -> int:
    """``--check``'s verdict: each problem on stderr and status 1, else ``passed`` and 0."""
    for problem in problems:
        print(f"check failed: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"check passed: {passed}")
    return 0


def run_main(
    main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None, prog: str = ""
) -> int:
    """Run a benchmark's ``main``: bad input is one line on stderr and exit status 2 (a sweep
    the cluster stopped: 1); Ctrl-C is one line and exit status 130."""
    try:
        return int(main(argv) or 0)
    except DtoptError as err:
        print(f"{prog or 'benchmark'}: error: {err}", file=sys.stderr)
        return getattr(err, "exit_status", 2)
    except KeyboardInterrupt:
        print(f"{prog or 'benchmark'}: interrupted", file=sys.stderr)
        return 130


def write_table_outputs(
    out: Path, benchmark: str, parameters: Mapping[str, Any], rows: Sequence[Row], columns: Sequence[str],
    title: str, table: str,
) -> None:
    """The usual trio for a one-table benchmark: results.csv (``columns``), results.json (with the
    environment and ``parameters``) and summary.md (``table`` under ``title``); reports the paths."""
    write_csv(out / "results.csv", rows, columns)
    write_json(out / "results.json", {
        "benchmark": benchmark, "environment": environment(), "parameters": dict(parameters),
        "rows": list(rows),
    })
    write_summary(out / "summary.md", title, [("Results", table)])
    report_written(out, ["results.csv", "results.json", "summary.md"])
