"""Upstream's data directory, on a clone: ``dataset_initialize(path)`` and ``get_data_dir()``.

Upstream writes the directory to ``$XDG_CONFIG_HOME/laion_fmri/config.json``; here the data
directory is a DataLad clone of the superdataset, chosen for the process (by
``dataset_initialize``, by ``install_as_laion_fmri(dataset)``, or by the runner through
``$LAION_FMRI_DATASET``), and no configuration file of upstream's is read or written.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UsageError
from ..layout.discovery import find_superdataset, is_superdataset

_chosen: list[Path] = []  # the clone dataset_initialize chose for this process, if any


def dataset_initialize(path: str | os.PathLike[str]) -> None:
    """Use the clone at ``path`` as the data directory of this process (upstream: sets the
    data directory). ``path`` must be a clone of the LAION-fMRI superdataset: here the data
    arrive with ``datalad get``, not by copying into an empty directory."""
    if not isinstance(path, str | os.PathLike):
        raise UsageError(f"dataset_initialize({path!r}): give the path of your clone")
    given = Path(path).expanduser().absolute()
    if not is_superdataset(given):
        raise UsageError(
            f"data directory {str(path)!r} is not a clone of the LAION-fMRI superdataset; "
            "clone it with `datalad clone URL DIR` and pass DIR"
        )
    _chosen[:] = [given]


def data_dir() -> Path:
    """The clone upstream's calls read: the one ``dataset_initialize`` chose, else
    ``$LAION_FMRI_DATASET``, else the clone containing the working directory."""
    return _chosen[0] if _chosen else find_superdataset(None)


def get_data_dir() -> str:
    """Upstream's ``get_data_dir()``: the data directory, as a string."""
    return str(data_dir())
