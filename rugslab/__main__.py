"""`python -m rugslab` runs the command line."""

import sys

from rugslab.cli import main

sys.exit(main())
