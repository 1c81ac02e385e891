"""A dask cluster for a sweep, when its scheduler and workers have dtopt installed and nothing else.

A sweep's cases are module-level functions of this ``benchmarks`` package, pickled by
reference, so the scheduler (which unpickles the task graph) and every worker must
import them. :func:`prepare` makes that true for any cluster the client reaches:

* it ships this package, as the client has it, to the scheduler and the workers
  (:class:`distributed.diagnostics.plugin.UploadFile`, registered under one name, so
  a worker that (re)starts later gets it before its first case, and a later sweep
  replaces it instead of adding another). The workers then run exactly the
  benchmark code the client runs, whatever directory they were started from. The
  package is shipped, not installed with dtopt, because its name is not ours alone:
  scikit-learn-extra, a dtopt dependency, installs a top-level ``benchmarks``
  package too. The shipped copy goes first on ``sys.path`` there, and a copy a
  previous sweep shipped is forgotten first.
* it checks that every worker imports the same dtopt as the client (a digest of
  its source): a worker with another dtopt would give other numbers without a word.

One sweep at a time per cluster: a second client shipping another version of this
package replaces the first one's code on the workers.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import benchmarks
from benchmarks.common.output import BenchmarkError

__all__ = ["PLUGIN", "connect", "dtopt_digest", "pack", "prepare"]

SCHEDULER_TIMEOUT_S = 5.0
# How long a scheduler may have no worker before the sweep gives up on it (s).
WORKERS_TIMEOUT_S = 30.0
# The name the shipped package is registered under on the scheduler and the workers.
PLUGIN = "dtopt-benchmarks"
_BUNDLE_PREFIX = "dtopt-benchmarks-"


def connect(address: str) -> Any:
    """A client of the scheduler at ``address``, or one line saying why not."""
    from distributed import Client

    try:
        return Client(address, timeout=f"{SCHEDULER_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as err:
        raise BenchmarkError(
            f"cannot reach dask scheduler {address!r} within {SCHEDULER_TIMEOUT_S:g} s ({_first_line(err)})"
        ) from None


def prepare(client: Any, address: str) -> None:
    """Wait for a worker, ship this package to the cluster, check its dtopt (see the module doc)."""
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
    except TimeoutError:
        raise BenchmarkError(
            f"dask scheduler {address} has no worker after {WORKERS_TIMEOUT_S:g} s "
            f"(start some with: dask worker {address})"
        ) from None
    _ship(client)
    _check_dtopt(client, address)


def pack(directory: Path) -> Path:
    """This ``benchmarks`` package as a zip in ``directory``, named by a digest of its files."""
    package = Path(benchmarks.__file__).resolve().parent
    files = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    bundle = directory / f"{_BUNDLE_PREFIX}{digest.hexdigest()[:16]}.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, Path(package.name, path.relative_to(package)).as_posix())
    return bundle


def _ship(client: Any) -> None:
    from distributed.diagnostics.plugin import SchedulerUploadFile, UploadFile

    # Sent by value (it is local): the cluster cannot import this module yet.
    def forget(package: str = __package__ or "benchmarks", prefix: str = _BUNDLE_PREFIX) -> None:
        import os
        import sys

        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
        sys.path[:] = [p for p in sys.path if not os.path.basename(p).startswith(prefix)]

    client.run_on_scheduler(forget)
    client.run(forget)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = str(pack(Path(tmp)))
        client.register_plugin(SchedulerUploadFile(bundle, load=True), name=PLUGIN)
        client.register_plugin(UploadFile(bundle, load=True), name=PLUGIN)


def dtopt_digest() -> dict[str, str]:
    """The dtopt this process imports: version, directory and a digest of its source."""
    import dtopt

    root = Path(dtopt.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return {"version": dtopt.__version__, "path": str(root), "digest": digest.hexdigest()[:16]}


def _check_dtopt(client: Any, address: str) -> None:
    mine = dtopt_digest()
    theirs = client.run(dtopt_digest, on_error="return")
    for worker, info in sorted(theirs.items()):
        if isinstance(info, BaseException):
            raise BenchmarkError(
                f"dask worker {worker} cannot import dtopt ({_first_line(info)}): install dtopt there"
            )
        if info["digest"] != mine["digest"]:
            raise BenchmarkError(
                f"dask worker {worker} (scheduler {address}) imports another dtopt than this one "
                f"(dtopt {info['version']} at {info['path']}, source digest {info['digest']}; here: "
                f"{mine['path']}, {mine['digest']}): install this dtopt on the cluster"
            )


def _first_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__
