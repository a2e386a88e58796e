"""LAION-fMRI as a DataLad superdataset: builder, loaders, splits and provenance tools.

>>> from laion_fmri_datalad import load_subject
>>> betas = load_subject("sub-01", dataset="laion-fmri").get_betas("ses-01", roi="face")

The loaders are imported on first use, so the command line does not pay for pybids,
nibabel and pandas where it does not need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # the names as mypy and editors see them
    from .loaders import download, load_stimuli, load_subject, load_subjects

__all__ = ["__version__", "download", "load_stimuli", "load_subject", "load_subjects"]
_LOADERS = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    if name in _LOADERS:
        from . import loaders

        return getattr(loaders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
