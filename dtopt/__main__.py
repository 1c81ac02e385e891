"""``python -m dtopt`` runs the CLI."""

import sys

from dtopt.cli import main

sys.exit(main())
