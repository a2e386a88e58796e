"""``python -m laion_fmri_datalad``: the installed command, signals handled from the start."""

import sys

from .entry import main

sys.exit(main())
