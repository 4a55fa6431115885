"""`python -m processor` is the same as the `caliper-processor` console script."""

import sys

from processor.cli import main

sys.exit(main())
