"""Upstream's ``laion_fmri.config``: the data directory is a clone."""

from laion_fmri_datalad.compat.api import not_served
from laion_fmri_datalad.compat.datadir import dataset_initialize, get_data_dir

__all__ = ["dataset_initialize", "get_data_dir"]
__getattr__ = not_served(__name__, {})
