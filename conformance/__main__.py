"""``python -m conformance URL``: the harness without the rest of Concord."""

import sys

from conformance.cli import main

sys.exit(main())
