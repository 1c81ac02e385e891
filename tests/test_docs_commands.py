"""The commands in README.md and docs/ work as written.

Every ``dtopt ...`` and ``python -m benchmarks....`` command in the documentation is
parsed by the real argument parser (an option renamed in the code but not in the docs
fails here), and the README's quick start is run, in reading order, in subprocesses
with this environment's ``bin`` first on PATH, as after ``source .venv/bin/activate``
(durations and case counts shortened).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import dtopt.cli

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`]+)`")
# Words a synopsis uses for "put your value here"; a line using one is not runnable.
PLACEHOLDERS = {"DIR", "OUT", "NAME", "FILE", "S", "N", "KM", "ADDRESS", "EPS", "NAME=VALUE"}


def _command(text: str) -> str | None:
    """``text`` as a runnable dtopt or benchmark command, or None."""
    text = " ".join(text.split())
    text = re.sub(r"^(/usr/bin/time -v |\.venv/bin/)", "", text)
    text = re.sub(r"^python -m dtopt\b", "dtopt", text)
    if not re.match(r"(dtopt|python -m benchmarks(\.\w+)+)( |$)", text):
        return None
    words = shlex.split(text, comments=True)
    if re.search(r"[\[\]|<>]", text) or PLACEHOLDERS & set(words) or words == ["dtopt"]:
        return None  # a synopsis, or the program's name in prose
    return shlex.join(words)


def documented_commands() -> list[tuple[str, str]]:
    """(page, command) for every command in a shell block or inline code span."""
    found = []
    for page in PAGES:
        text = page.read_text()
        blocks = [body for lang, body in FENCE.findall(text) if lang in ("", "sh", "bash")]
        candidates = [line for body in blocks for line in body.splitlines()]
        candidates += INLINE.findall(FENCE.sub("", text))
        found += [(page.name, cmd) for cmd in map(_command, candidates) if cmd]
    return list(dict.fromkeys(found))


class _Parsed(Exception):
    """Raised right after a successful parse, so nothing runs."""


def _entry_point(words: list[str]) -> tuple[object, list[str]]:
    if words[0] == "dtopt":
        return dtopt.cli.main, words[1:]
    return importlib.import_module(words[2]).main, words[3:]


def test_the_docs_have_commands() -> None:
    pages = {page for page, _ in documented_commands()}
    assert {"README.md", "placement.md", "benchmarks.md", "chain.md", "twin.md"} <= pages


@pytest.mark.parametrize(("page", "command"), documented_commands())
def test_documented_command_parses(page: str, command: str, monkeypatch) -> None:
    parse = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        parse(self, args, namespace)
        raise _Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    main, argv = _entry_point(shlex.split(command))
    with pytest.raises((_Parsed, SystemExit)) as outcome:
        main(argv)
    if outcome.type is SystemExit:  # --help exits 0; a parse error exits 2
        assert outcome.value.code == 0, f"{page}: `{command}` does not parse"


def _quick_start() -> tuple[list[str], str]:
    """The README quick start: its shell commands in order, and its Python snippet."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = FENCE.findall(section)
    shell = next(body for lang, body in blocks if lang == "sh")
    python = next(body for lang, body in blocks if lang == "python")
    commands = [line for line in shell.splitlines() if line.strip() and not line.startswith("#")]
    return commands, python


def _shortened(command: str) -> list[str]:
    words = shlex.split(command, comments=True)
    if "--duration" in words:
        words[words.index("--duration") + 1] = "200"
    if words[:3] == ["python", "-m", "benchmarks.consensus"]:
        words += ["--seeds", "1", "--duration", "200", "--replicas", "64"]
    if words[:3] == ["python", "-m", "benchmarks.placement"]:
        words += ["-k", "2", "--quick"]
    return words


def test_readme_quick_start_runs_as_written(tmp_path: Path) -> None:
    commands, python = _quick_start()
    assert commands[0].startswith("dtopt topologies") and any("benchmarks." in c for c in commands)
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "dtopt").exists():
        pytest.skip(f"dtopt is not installed in {bin_dir}")
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", CI="1")
    # This checkout's dtopt, also for the installed `dtopt` script (matters in a worktree).
    env["PYTHONPATH"] = str(ROOT)
    for command in commands:
        words = _shortened(command)
        if "benchmarks.consensus" in command:
            words += ["--out", str(tmp_path / "consensus")]
        done = subprocess.run(words, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"`{command}` failed: {done.stderr.strip()[-500:]}"
        assert done.stdout.strip(), f"`{command}` printed nothing"
    done = subprocess.run(
        ["python", "-c", python], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.strip()[-500:]
    assert "optimal" in done.stdout
