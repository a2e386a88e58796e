"""The stimuli of a subject's trials (upstream's ``Subject.stimuli``, ``metadata``, ``images``,
``embeddings``, ``captions``, ``segmentations``, ``to_torch_dataset`` and the
``get_trial_*`` readers), as a mixin of :class:`~.subject.Subject`. The namespaces it hands
out (``trials``, ``torchdata``) type against ``types.TrialSource``, not ``Subject``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, overload

import numpy.typing as npt
import pandas as pd

from ..clone.content import Content
from ..clone.files import SubjectFiles
from .roiselect import RoiSpec
from .stimuli import ImageFormat, Stimuli
from .torchdata import TrialDataset
from .trials import (
    SubjectCaptions,
    SubjectEmbeddings,
    SubjectImages,
    SubjectSegmentations,
    trial_rows,
    trial_table,
)
from .types import BrainMaskSource, Floats, Session, Sessions


class TrialStimuliMixin:
    """The stimulus accessors of a subject; the subject provides the rest."""

    content: Content
    files: SubjectFiles

    if TYPE_CHECKING:  # what Subject defines (typed here for the methods below)

        def get_sessions(self) -> list[str]: ...
        def get_trial_info(self, session: Session) -> pd.DataFrame: ...

        get_betas: Callable[..., Any]  # overloaded in Subject

        def _sessions(self, sessions: Session | Sessions) -> list[str]: ...

    # -- the stimuli of the trials ------------------------------------------------------
    def _stimulus_rows(
        self, trials: pd.DataFrame, stimuli: str | Sequence[str] | None
    ) -> list[int]:
        """``trial_rows``, with a name refused (``UnknownKeyError``) that is neither among
        the session's trials nor an image of the stimulus catalogue: an image the session
        did not show selects nothing, a name no image has is a mistake."""
        if isinstance(stimuli, list | tuple):
            shown = set(trials["label"].astype(str))
            absent = [name for name in stimuli if name not in shown]
            if absent:
                self.stimuli.index_of(absent)  # the catalogue: raises for an unknown name
        return trial_rows(trials, stimuli)

    @cached_property
    def stimuli(self) -> Stimuli:
        return Stimuli(self.content)

    @cached_property
    def metadata(self) -> pd.DataFrame:
        """Every session's trial table, concatenated, with each trial's stimulus metadata
        (``session_trial``, ``image_name``, ``stim_idx``, ``unique_or_shared``, ``dataset``,
        ``n_reps``); the index is the global trial index of ``images``, ``embeddings``,
        ``captions`` and ``segmentations``."""
        return trial_table(self)

    @cached_property
    def images(self) -> SubjectImages:
        """The image of each trial: ``sub.images[i]`` bytes, ``.get(i)`` PIL (gated)."""
        return SubjectImages(self)

    @cached_property
    def embeddings(self) -> SubjectEmbeddings:
        """``sub.embeddings.all("CLIP", session)``: ``(n_trials, D)`` in trial order."""
        return SubjectEmbeddings(self)

    @cached_property
    def captions(self) -> SubjectCaptions:
        """The captions of each trial's image: ``.human(i)``, ``.ai(i)``, ``.get(i)``."""
        return SubjectCaptions(self)

    @cached_property
    def segmentations(self) -> SubjectSegmentations:
        """Masks of each trial's image (shared images): ``.nouns(i)``, ``.get(i, noun)``."""
        return SubjectSegmentations(self)

    def to_torch_dataset(
        self,
        session: Session,
        roi: RoiSpec | None = None,
        mask: npt.ArrayLike | None = None,
        nc_threshold: float | None = None,
        image_transform: Any = None,
        mask_source: BrainMaskSource | None = None,
        *,
        images: bool = True,
    ) -> TrialDataset:
        """One session as a map-style dataset (``len``, ``[i]``) that
        ``torch.utils.data.DataLoader`` accepts: ``{"betas", "image", "image_name",
        "session", "rep_index"}`` per trial; tensors with PyTorch installed, numpy arrays
        without. ``images=False`` leaves the (gated) images out."""
        name = self.files.session(session)
        betas = self.get_betas(
            name, roi=roi, mask=mask, nc_threshold=nc_threshold, mask_source=mask_source
        )
        return TrialDataset(self, name, betas, image_transform, images)

    def _labels(self, session: Session) -> list[str]:
        return [str(v) for v in self.get_trial_info(session)["label"]]

    @overload
    def get_trial_images(
        self, session: Session, format: ImageFormat = "pil", as_displayed: bool = True
    ) -> list[Any]: ...
    @overload
    def get_trial_images(
        self, session: Sessions, format: ImageFormat = "pil", as_displayed: bool = True
    ) -> dict[str, list[Any]]: ...
    def get_trial_images(
        self, session: Session | Sessions, format: ImageFormat = "pil", as_displayed: bool = True
    ) -> list[Any] | dict[str, list[Any]]:
        """The images of a session's trials, in trial order (gated: needs access): PIL
        images, arrays or encoded bytes, as ``format`` says."""
        if isinstance(session, list | tuple):
            return {
                s: self.get_trial_images(s, format, as_displayed) for s in self._sessions(session)
            }
        return self.stimuli.get_images(self._labels(session), format, as_displayed)

    @overload
    def get_trial_embeddings(self, session: Session, model: str = "CLIP") -> Floats: ...
    @overload
    def get_trial_embeddings(self, session: Sessions, model: str = "CLIP") -> dict[str, Floats]: ...
    def get_trial_embeddings(
        self, session: Session | Sessions, model: str = "CLIP"
    ) -> Floats | dict[str, Floats]:
        """``(n_trials, D)`` embeddings of a session's trial images, in trial order."""
        if isinstance(session, list | tuple):
            return {s: self.get_trial_embeddings(s, model) for s in self._sessions(session)}
        return self.stimuli.get_embeddings(model, self._labels(session))

    @overload
    def get_trial_captions(self, session: Session) -> list[str]: ...
    @overload
    def get_trial_captions(self, session: Sessions) -> dict[str, list[str]]: ...
    def get_trial_captions(self, session: Session | Sessions) -> list[str] | dict[str, list[str]]:
        """The caption of each trial's image, in trial order."""
        if isinstance(session, list | tuple):
            return {s: self.get_trial_captions(s) for s in self._sessions(session)}
        return self.stimuli.get_captions(self._labels(session))
