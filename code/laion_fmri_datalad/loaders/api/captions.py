"""The captions of the stimuli: every caption of every image, human and AI (upstream's
``Captions``).

``stimuli/task-images_desc-captions.csv`` is long form, one row per caption:
``image_name, caption_idx, source, caption, origin_collection, participant_id, ai_model``.
Human captions are ranked from 1 (the best; up to 5 for shared images, 3 for unique ones);
the AI caption, where there is one, has ``caption_idx`` 0. An image without captions gives
an empty answer, not an error, as upstream's reader does.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from ...checks.choices import unknown

SOURCES = ("human", "ai")


class Captions:
    """``stim.captions.human(name)``, ``.ai(name)``, ``.get(name)``, ``.list(name, source)``."""

    def __init__(self, path: Callable[[], Path]) -> None:
        self._path = path  # called on first use: the file is got then, not before

    @cached_property
    def metadata(self) -> pd.DataFrame:
        """Every caption, one row each, in the file's order."""
        return pd.read_csv(
            self._path(),
            keep_default_na=False,
            na_values={"participant_id": [""], "ai_model": [""]},
        )

    @cached_property
    def _by_image(self) -> dict[str, npt.NDArray[np.intp]]:
        """Each image's rows of ``metadata``, AI first, then humans by rank."""
        order = self.metadata.sort_values("caption_idx", kind="stable").index.to_numpy()
        names = self.metadata["image_name"].astype(str).to_numpy()[order]
        groups = pd.Series(order).groupby(names, sort=False).indices
        return {str(name): order[rows] for name, rows in groups.items()}

    def __len__(self) -> int:
        return len(self.metadata)

    def __contains__(self, image_name: object) -> bool:
        return image_name in self._by_image

    def images(self) -> builtins.list[str]:
        """The images with at least one caption, in the file's order."""
        return builtins.list(self._by_image)

    def get(self, image_name: str) -> pd.DataFrame:
        """All captions of one image, AI first (``caption_idx`` 0), then humans by rank;
        empty when the image has none."""
        rows = self._by_image.get(image_name)
        if rows is None:
            return self.metadata.iloc[0:0].copy()
        return self.metadata.iloc[rows].reset_index(drop=True)

    def human(self, image_name: str, limit: int | None = None) -> builtins.list[str]:
        """The human captions of ``image_name`` in rank order (the best ``limit`` if given)."""
        rows = self.get(image_name)
        humans = rows[rows["source"] == "human"]
        if limit is not None:
            humans = humans.head(limit)
        return [str(c) for c in humans["caption"]]

    def ai(self, image_name: str) -> str | None:
        """The AI caption of ``image_name``, or None when it has none."""
        rows = self.get(image_name)
        ai = rows[rows["source"] == "ai"]
        return None if ai.empty else str(ai["caption"].iloc[0])

    def list(self, image_name: str, source: str | None = None) -> builtins.list[str]:
        """The captions of ``image_name`` in ``caption_idx`` order, of one source if given."""
        rows = self.get(image_name)
        if source is not None:
            if source not in SOURCES:
                raise unknown("caption source", source, SOURCES)
            rows = rows[rows["source"] == source]
        return [str(c) for c in rows["caption"]]

    def first(self, names: builtins.list[str]) -> builtins.list[str]:
        """The best human caption of each image, in the caller's order (one per image)."""
        missing = [n for n in names if not self.human(n, limit=1)]
        if missing:
            raise unknown("image", missing[0], self.images()[:12], "with a human caption")
        return [self.human(n, limit=1)[0] for n in names]
