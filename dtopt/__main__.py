"""``python -m dtopt`` runs the CLI."""

from dtopt.cli import run

run()
