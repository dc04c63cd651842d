"""``python -m streams.bench`` (``make bench``): see :mod:`streams.bench.run`."""

import sys

from streams.bench.run import main

sys.exit(main())
