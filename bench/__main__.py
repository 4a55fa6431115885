"""`python -m bench`: the whole benchmark (what `make bench` runs)."""

import sys

from bench.runner import main

sys.exit(main())
