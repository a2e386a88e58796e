"""Object segmentation masks of the shared images (upstream's ``Segmentations``).

``stimuli/task-images_desc-segmentations.h5`` holds one dataset, ``masks``
``(n_masks, H, W)`` uint8; ``..._desc-segmentations_metadata.csv`` has one row per mask:
``mask_row`` (its row in ``masks``), ``image_name``, ``noun``, ``instance_id`` (0 is the
best-scored detection), ``score``, the box, ``localized`` and ``mask_file``. Only shared
images have masks: for any other image ``nouns`` and ``for_image`` answer empty and ``get``
raises (a ``KeyError``, as upstream's, that is also a ``UsageError``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .unknownkey import unknown_key

TRUE = ("1", "true", "True")


class Segmentations:
    """``stim.segmentations.nouns(name)``, ``.get(name, noun, instance)``, ``.for_image(name)``."""

    def __init__(self, table: Callable[[], Path], masks: Callable[[], Path]) -> None:
        self._table = table  # called on first use: files are got then, not before
        self._masks = masks
        self._h5: Any = None

    def __enter__(self) -> Segmentations:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the HDF5 file (it is opened again when needed)."""
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    @cached_property
    def metadata(self) -> pd.DataFrame:
        """One row per mask; ``localized`` as a bool."""
        table = pd.read_csv(self._table(), keep_default_na=False)
        table["localized"] = table["localized"].astype(str).isin(TRUE)
        return table

    @cached_property
    def _by_image(self) -> dict[str, npt.NDArray[np.intp]]:
        """Each image's rows of ``metadata``, in the table's order."""
        names = self.metadata["image_name"].astype(str).to_numpy()
        groups = pd.Series(names).groupby(names, sort=False).indices
        return {str(k): np.asarray(v, dtype=np.intp) for k, v in groups.items()}

    def __len__(self) -> int:
        return len(self.metadata)

    def __getitem__(self, mask_row: int) -> npt.NDArray[np.uint8]:
        """One mask by its row in the HDF5 file, ``(H, W)`` uint8."""
        return np.asarray(self._dataset()[int(mask_row)], dtype=np.uint8)

    def images(self) -> list[str]:
        """The images with at least one mask, in the table's order."""
        return list(self._by_image)

    def has_image(self, image_name: str) -> bool:
        return image_name in self._by_image

    def for_image(self, image_name: str) -> pd.DataFrame:
        """The rows of every mask of one image (empty for an image without masks)."""
        rows = self._by_image.get(image_name)
        if rows is None:
            return self.metadata.iloc[0:0].copy()
        return self.metadata.iloc[rows].reset_index(drop=True)

    def nouns(self, image_name: str, localized_only: bool = True) -> list[str]:
        """The nouns found in ``image_name``, in the table's order; with
        ``localized_only`` only those with a localized detection."""
        rows = self.for_image(image_name)
        if localized_only:
            rows = rows[rows["localized"]]
        return list(dict.fromkeys(str(n) for n in rows["noun"]))

    def get(self, image_name: str, noun: str, instance: int = 0) -> npt.NDArray[np.uint8]:
        """The mask of ``(image, noun, instance)``, ``(H, W)`` uint8."""
        rows = self.for_image(image_name)
        if rows.empty:
            raise unknown_key("shared image", image_name, self.images()[:12], "with masks")
        same = rows[rows["noun"] == noun]
        if same.empty:
            raise unknown_key("noun", noun, self.nouns(image_name, False), f"in {image_name!r}")
        match = same[same["instance_id"] == int(instance)]
        if match.empty:
            known = [str(i) for i in same["instance_id"]]
            raise unknown_key("instance", instance, known, f"of {noun!r} in {image_name!r}")
        return self[int(match["mask_row"].iloc[0])]

    def masks_of(self, image_name: str) -> npt.NDArray[np.uint8]:
        """Every mask of one image, ``(n_masks, H, W)``, in the table's order."""
        rows = self.for_image(image_name)
        if rows.empty:
            raise unknown_key("shared image", image_name, self.images()[:12], "with masks")
        order = [int(r) for r in rows["mask_row"]]
        return np.asarray(self._dataset()[sorted(order)], dtype=np.uint8)[
            np.argsort(np.argsort(order))
        ]

    def _dataset(self) -> Any:
        import h5py

        if self._h5 is None:
            self._h5 = h5py.File(self._masks(), "r")
        return self._h5["masks"]
