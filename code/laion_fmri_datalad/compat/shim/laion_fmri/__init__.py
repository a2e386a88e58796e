"""Upstream's ``laion_fmri``, served on a DataLad clone by laion-fmri-datalad's compatibility
layer (``laion_fmri_datalad.compat``). Importable only where that layer was put on the path,
and never where upstream's own package is installed."""

from laion_fmri_datalad.compat.install import refusal, upstream_location

_upstream = upstream_location()
if _upstream is not None:
    raise ImportError(refusal(_upstream))

from laion_fmri_datalad.compat.api import (  # noqa: E402
    download,
    get_subjects,
    load_stimuli,
    load_subject,
    load_subjects,
    not_served,
)
from laion_fmri_datalad.compat.datadir import dataset_initialize, get_data_dir  # noqa: E402
from laion_fmri_datalad.compat.embeddings import load_embeddings  # noqa: E402

__all__ = [
    "dataset_initialize",
    "download",
    "get_data_dir",
    "get_subjects",
    "load_embeddings",
    "load_stimuli",
    "load_subject",
    "load_subjects",
]
__getattr__ = not_served(__name__, {})
