"""Several participants at once (upstream's ``load_subjects`` and ``Group``)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy.typing as npt
import pandas as pd

from ...checks.choices import unknown
from ...errors import UsageError
from ...layout.discovery import find_superdataset, subjects_in
from ...layout.ids import subject_id
from .roiselect import RoiSpec
from .stimuli import ImageFormat
from .subject import Subject, load_subject
from .types import BrainMaskSource, Floats, Session
from .unknownkey import UnknownKeyError


def load_subjects(
    subjects: str | Sequence[str | int] = "all",
    dataset: str | os.PathLike[str] | None = None,
    *,
    fetch: bool = True,
    brain_mask: BrainMaskSource = "anatomical",
) -> Group:
    """Participants by id, or ``"all"`` of the superdataset's subjects."""
    root = find_superdataset(dataset)
    if subjects == "all":
        chosen: Sequence[str | int] = subjects_in(root)
    elif isinstance(subjects, str):
        chosen = [subjects]
    elif isinstance(subjects, list | tuple):
        chosen = list(subjects)
    else:
        raise UsageError(
            f"subjects {subjects!r} is not allowed; give ids like ['sub-01', 'sub-03'] or 'all'"
        )
    if not chosen:
        raise UsageError("no subjects given; give ids like ['sub-01', 'sub-03'] or 'all'")
    loaded = [load_subject(s, root, fetch=fetch, brain_mask=brain_mask) for s in chosen]
    return Group({s.subject_id: s for s in loaded})


class Group:
    """Subjects in id order; ``group['sub-01']``, ``group[0]``, ``for sub_id, s in group``."""

    def __init__(self, subjects: dict[str, Subject]) -> None:
        self.subjects = dict(sorted(subjects.items()))

    def __len__(self) -> int:
        return len(self.subjects)

    def __iter__(self) -> Iterator[tuple[str, Subject]]:
        return iter(self.subjects.items())

    def __getitem__(self, key: int | str) -> Subject:
        if isinstance(key, int) and not isinstance(key, bool):
            if not -len(self.subjects) <= key < len(self.subjects):
                raise UnknownKeyError(
                    f"no subject at position {key}; the group has {len(self.subjects)} "
                    f"({', '.join(self.subjects)})"
                )
            return list(self.subjects.values())[key]
        if isinstance(key, str):
            try:
                name = subject_id(key)
            except UsageError:
                name = key
            if name in self.subjects:
                return self.subjects[name]
            raise unknown("subject", key, self.subjects, "in this group")
        raise UsageError(f"index a group by position or subject id, not {key!r}")

    def __repr__(self) -> str:
        return f"Group({list(self.subjects)})"

    def get_shared_betas(
        self,
        session: Session,
        roi: RoiSpec | None = None,
        mask: npt.ArrayLike | None = None,
        nc_threshold: float | None = None,
    ) -> dict[str, Floats]:
        """Each subject's betas for the trials showing shared images, in that subject's
        trial order (``get_trial_info`` with ``label.str.startswith('shared_')`` gives the
        labels to align them)."""
        return {
            sub: s.get_betas(
                session, roi=roi, mask=mask, nc_threshold=nc_threshold, stimuli="shared"
            )
            for sub, s in self
        }

    def get_shared_stimulus_metadata(self) -> pd.DataFrame:
        """The rows of the stimulus metadata of the shared images, re-indexed from 0."""
        first = next(iter(self.subjects.values()))
        meta = first.stimuli.metadata
        return meta[meta["unique_or_shared"] == "shared"].reset_index(drop=True)

    def get_shared_images(
        self, format: ImageFormat = "pil", as_displayed: bool = True
    ) -> list[Any]:
        """The shared images in metadata order (gated: needs access), as ``format`` says."""
        first = next(iter(self.subjects.values()))
        names = self.get_shared_stimulus_metadata()["image_name"].astype(str).tolist()
        return first.stimuli.get_images(names, format, as_displayed)
