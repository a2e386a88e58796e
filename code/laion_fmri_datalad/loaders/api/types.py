"""The value types of the public API: sessions as users give them, masks and betas, and what
the accessor modules need of a subject (``TrialSource``, a Protocol, so that they type
against it instead of importing ``Subject`` back)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

    from ..clone.files import SubjectFiles
    from .stimuli import Stimuli
    from .trials import SubjectImages

BrainMaskSource = Literal["anatomical", "rsquare"]
BRAIN_MASK_SOURCES = ("anatomical", "rsquare")
Mask = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float32]
Session = str | int  # "ses-01", "01" or 1
Sessions = list[str] | list[int] | tuple[Session, ...]  # several: the answer is a dict


class TrialSource(Protocol):
    """What the per-trial namespaces and the torch dataset read of a subject."""

    @property
    def files(self) -> SubjectFiles: ...
    @property
    def stimuli(self) -> Stimuli: ...
    @property
    def metadata(self) -> pd.DataFrame: ...
    @property
    def images(self) -> SubjectImages: ...
    def get_sessions(self) -> list[str]: ...
    def get_trial_info(self, session: str) -> pd.DataFrame: ...
