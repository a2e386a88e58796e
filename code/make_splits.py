"""Make the train/test splits (run under ``datalad run``; see laion_fmri_datalad.splits.make).

Imports the package from this dataset's own ``code/`` directory, so a rerun of a recorded
commit uses the code of that commit.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from laion_fmri_datalad.splits.make import main

if __name__ == "__main__":
    sys.exit(main())
