"""A subject's trials joined to the stimuli (upstream's ``TrialSource.metadata``, ``images``,
``embeddings``, ``captions`` and ``segmentations``).

``metadata`` is every session's trial table, in session order, with the stimulus metadata of
each trial's image: ``session_trial`` (the row within the session, the betas volume),
``image_name``, ``stim_idx`` (the image's row in ``task-images_metadata.csv`` and the image
HDF5), ``unique_or_shared``, ``dataset`` and ``n_reps``. Its index is the *global trial
index* the namespaces take: ``sub.images.get(i)`` is the image shown on trial ``i``.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ...errors import DataMismatchError, UsageError

if TYPE_CHECKING:
    from .types import TrialSource

JOINED = ("unique_or_shared", "dataset", "n_reps")


def trial_table(subject: TrialSource) -> pd.DataFrame:
    """The sessions' trial tables concatenated and joined to the stimulus metadata."""
    stimuli = subject.stimuli.metadata.set_index("image_name")
    rows = {str(n): i for i, n in enumerate(stimuli.index)}
    parts = []
    for session in subject.get_sessions():
        table = subject.get_trial_info(session).copy()
        names = table["label"].astype(str)
        table["session"] = session
        table["session_trial"] = np.arange(len(table))
        table["image_name"] = names.to_numpy()
        table["stim_idx"] = [rows.get(n, -1) for n in names]
        for column in JOINED:
            table[column] = names.map(stimuli[column]).to_numpy()
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


class _PerTrial:
    def __init__(self, subject: TrialSource) -> None:
        self._subject = subject

    def _name(self, trial_idx: int) -> str:
        table = self._subject.metadata
        if not 0 <= int(trial_idx) < len(table):
            raise UsageError(f"trial {trial_idx} is outside 0-{len(table) - 1} (global index)")
        return str(table["image_name"].iloc[int(trial_idx)])

    def _names(self, session: str | None) -> list[str]:
        table = self._subject.metadata
        if session is not None:
            table = table[table["session"] == self._subject.files.session(session)]
        return [str(n) for n in table["image_name"]]


class SubjectImages(_PerTrial):
    """``sub.images[i]`` the stored bytes of trial ``i``'s image, ``.get(i)`` a PIL image,
    ``.all(session)`` PIL images in trial order, ``.array(session)`` a uint8 stack."""

    def __len__(self) -> int:
        return len(self._subject.metadata)

    def __getitem__(self, trial_idx: int) -> bytes:
        return self._subject.stimuli.get_image_bytes(self._name(trial_idx))

    def get(self, trial_idx: int) -> Any:
        return self._subject.stimuli.images.get(self._name(trial_idx))

    def all(self, session: str | None = None) -> Iterator[Any]:
        for name in self._names(session):
            yield self._subject.stimuli.images.get(name)

    def array(self, session: str | None = None) -> npt.NDArray[np.uint8]:
        names = self._names(session)
        return np.stack(self._subject.stimuli.get_images(names, "array")).astype(np.uint8)


class SubjectEmbeddings(_PerTrial):
    """``sub.embeddings.get(model, i)`` ``(D,)``; ``.all(model, session)`` ``(n_trials, D)``."""

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self._subject.stimuli.embeddings.models)

    def get(self, model: str, trial_idx: int) -> npt.NDArray[np.float32]:
        return self._subject.stimuli.embeddings.get(model, self._name(trial_idx))

    def all(self, model: str, session: str | None = None) -> npt.NDArray[np.float32]:
        return self._subject.stimuli.embeddings.get(model, self._names(session))


class SubjectCaptions(_PerTrial):
    """The captions of each trial's image: ``.human(i)``, ``.ai(i)``, ``.get(i)``,
    ``.list(i, source)``; ``.all(session)`` the best human caption per trial."""

    def human(self, trial_idx: int, limit: int | None = None) -> list[str]:
        return self._subject.stimuli.captions.human(self._name(trial_idx), limit)

    def ai(self, trial_idx: int) -> str | None:
        return self._subject.stimuli.captions.ai(self._name(trial_idx))

    def get(self, trial_idx: int) -> pd.DataFrame:
        return self._subject.stimuli.captions.get(self._name(trial_idx))

    def list(self, trial_idx: int, source: str | None = None) -> list[str]:
        return self._subject.stimuli.captions.list(self._name(trial_idx), source)

    def all(self, session: str | None = None) -> builtins.list[str]:
        return self._subject.stimuli.captions.first(self._names(session))


class SubjectSegmentations(_PerTrial):
    """Masks of each trial's image (shared images only): ``.has_image(i)``, ``.nouns(i)``,
    ``.for_image(i)``, ``.get(i, noun, instance)``."""

    def has_image(self, trial_idx: int) -> bool:
        return self._subject.stimuli.segmentations.has_image(self._name(trial_idx))

    def nouns(self, trial_idx: int, localized_only: bool = True) -> list[str]:
        return self._subject.stimuli.segmentations.nouns(self._name(trial_idx), localized_only)

    def for_image(self, trial_idx: int) -> pd.DataFrame:
        return self._subject.stimuli.segmentations.for_image(self._name(trial_idx))

    def get(self, trial_idx: int, noun: str, instance: int = 0) -> npt.NDArray[np.uint8]:
        return self._subject.stimuli.segmentations.get(self._name(trial_idx), noun, instance)


def trial_volumes(trials: Any, rows: Sequence[int], n_volumes: int, betas: object) -> list[int]:
    """The betas volumes of the trial table's ``rows``: row *i* is volume *i*.

    ``beta_index`` is not a volume index: the bucket numbers it from 0 again in every run
    (DESIGN §2.14), so it stays in the table as data and nothing reads volumes through it.
    A table whose row count is not the betas' volume count cannot be mapped by position and
    is refused in one line naming both numbers."""
    if len(trials) != n_volumes:
        raise DataMismatchError(
            f"'{betas}' has {n_volumes} volumes but its trial table has {len(trials)} rows; "
            "row i of the table must be volume i"
        )
    return [int(r) for r in rows]


def check_stimuli(stimuli: object) -> None:
    """``stimuli`` as ``trial_rows`` takes it: None, ``"shared"``, ``"unique"``, or a list
    of image names; a ``UsageError`` naming it if not."""
    if stimuli is None or stimuli in ("shared", "unique"):
        return
    if isinstance(stimuli, list | tuple):
        odd = [n for n in stimuli if not isinstance(n, str)]
        if odd:
            raise UsageError(f"stimuli: {odd[0]!r} is not an image name; give names as strings")
        return
    raise UsageError(
        f"stimuli {stimuli!r} is not allowed; give 'shared', 'unique' or a list of image names"
    )


def trial_rows(trials: Any, stimuli: str | Sequence[str] | None) -> list[int]:
    """The rows of a trial table showing ``stimuli``: all (None), the ``shared`` or
    ``unique`` images, or the images named."""
    check_stimuli(stimuli)
    labels = trials["label"].astype(str)
    if stimuli is None:
        keep = np.ones(len(labels), dtype=bool)
    elif isinstance(stimuli, str):
        keep = labels.str.startswith(f"{stimuli}_").to_numpy()
    else:
        keep = labels.isin(list(stimuli)).to_numpy()
    return [int(i) for i in np.flatnonzero(keep)]
