"""``python -m laion_fmri_datalad.cli``: the same as ``laion-fmri-datalad``."""

import sys

from . import main

sys.exit(main(own_process=True))
