"""One session of a subject as a map-style dataset for PyTorch (upstream's
``to_torch_dataset``), usable without PyTorch.

Item ``i`` is trial ``i`` of the session: ``{"betas", "image", "image_name", "session",
"rep_index"}``. ``len()`` and ``[i]`` are all ``torch.utils.data.DataLoader`` asks of a
map-style dataset, so it is accepted as is (torch's default collate turns the numpy arrays
into tensors). With PyTorch installed, items hold tensors as upstream's do; without, numpy
arrays. ``images=False`` leaves the (gated) images out. The image is the one displayed
(RGBA composited onto the presentation mid-grey), as a ``(3, H, W)`` float in 0-1.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ...errors import UsageError

if TYPE_CHECKING:
    from .types import TrialSource


REP_COLUMN = "rep_index"


def rep_indices(labels: list[str]) -> npt.NDArray[np.int64]:
    """For each trial, how often its image was shown before in the session (0 first)."""
    seen: dict[str, int] = {}
    out = []
    for name in labels:
        out.append(seen.get(name, 0))
        seen[name] = seen.get(name, 0) + 1
    return np.asarray(out, dtype=np.int64)


class TrialDataset:
    """A session's trials: betas (float32, the selected voxels), image, name, repetition."""

    def __init__(
        self,
        subject: TrialSource,
        session: str,
        betas: npt.NDArray[np.float32],
        image_transform: Callable[[Any], Any] | None = None,
        images: bool = True,
    ) -> None:
        self.subject = subject
        self.session = session
        self.betas = betas
        table = subject.metadata
        rows = table[table["session"] == session]
        self.global_trials = [int(i) for i in rows.index]
        self.image_names = [str(n) for n in rows["image_name"]]
        if len(self.image_names) != len(betas):
            raise UsageError(f"{len(betas)} betas rows for {len(self.image_names)} trials")
        # upstream's rule: a rep_index column when the trials carry one, else counted
        self.rep_index = (
            np.asarray(rows[REP_COLUMN], dtype=np.int64)
            if REP_COLUMN in rows.columns
            else rep_indices(self.image_names)
        )
        self.image_transform = image_transform
        self.images = images
        self._torch: Any = None
        if importlib.util.find_spec("torch") is not None:
            self._torch = importlib.import_module("torch")

    def __len__(self) -> int:
        return len(self.betas)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        if not -len(self) <= int(idx) < len(self):
            raise IndexError(f"trial {idx} is outside 0-{len(self) - 1}")
        idx = int(idx) % len(self)
        item: dict[str, Any] = {
            "betas": self._tensor(self.betas[idx]),
            "image_name": self.image_names[idx],
            "session": self.session,
            "rep_index": int(self.rep_index[idx]),
        }
        if self.images:
            picture = self.subject.images.get(self.global_trials[idx]).convert("RGB")
            chw = (np.asarray(picture, dtype=np.float32) / 255.0).transpose(2, 0, 1)
            image = self._tensor(np.ascontiguousarray(chw))
            item["image"] = image if self.image_transform is None else self.image_transform(image)
        return item

    def _tensor(self, values: npt.NDArray[np.float32]) -> Any:
        if self._torch is None:
            return np.asarray(values, dtype=np.float32)
        return self._torch.tensor(values, dtype=self._torch.float32)
