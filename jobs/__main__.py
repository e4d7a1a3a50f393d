"""Entry point for ``python -m jobs``."""

import sys

from jobs.cli import main

sys.exit(main(prog="python -m jobs"))
