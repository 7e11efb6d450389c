"""``python -m bio_sleep``: the same as the ``bio-sleep`` command."""

import sys

from bio_sleep.cli import main

sys.exit(main())
