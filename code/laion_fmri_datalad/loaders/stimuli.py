"""The stimuli of a clone: metadata, images, embeddings, segmentations and captions.

Files come from the ``stimuli`` subdataset and are got through DataLad on first use; the
image HDF5 is gated, so getting it needs an access token (``laion-fmri-datalad
request-access``). Images are returned as encoded bytes, a PIL image, or an array; RGBA
images are composited onto mid-grey, as they were displayed, unless ``composite=False``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..choices import unknown
from ..errors import UsageError
from .dataset import Content, find_superdataset

STIMULI = "stimuli"
METADATA = "task-images_metadata.csv"
IMAGES = "task-images_stimuli.h5"
CAPTIONS = "task-images_desc-captions.csv"
SEGMENTATIONS = "task-images_desc-segmentations.h5"
SEGMENTATION_TABLE = "task-images_desc-segmentations_metadata.csv"
MODELS = ("CLIP", "DINOv2", "PEcore", "SigLIP2")
DISPLAY_GREY = (128, 128, 128)
ImageFormat = Literal["pil", "bytes", "array"]


def load_stimuli(dataset: str | os.PathLike[str] | None = None, *, fetch: bool = True) -> Stimuli:
    """The stimuli of the superdataset cloned at ``dataset``."""
    return Stimuli(Content(find_superdataset(dataset), fetch=fetch))


class Stimuli:
    def __init__(self, content: Content) -> None:
        self.content = content

    def _file(self, name: str) -> Path:
        root = self.content.ensure_installed(STIMULI)
        path = root / name
        if not (path.is_symlink() or path.exists()):
            raise UsageError(f"{STIMULI}/{name} is not in this dataset")
        self.content.ensure_present([path])
        return path

    @cached_property
    def metadata(self) -> pd.DataFrame:
        """``image_name, dataset, participant, unique_or_shared, n_reps``; row i is image i
        of the image HDF5."""
        return pd.read_csv(self._file(METADATA))

    @cached_property
    def _row(self) -> dict[str, int]:
        return {str(n): i for i, n in enumerate(self.metadata["image_name"])}

    def index_of(self, names: str | Sequence[str]) -> list[int]:
        wanted = [names] if isinstance(names, str) else list(names)
        rows = []
        for name in wanted:
            if name not in self._row:
                raise unknown("image", name, list(self._row)[:12])
            rows.append(self._row[name])
        return rows

    # -- images ----------------------------------------------------------------------------
    def _encoded(self, images: Sequence[str | int]) -> list[bytes]:
        """The stored bytes of the images, read with the HDF5 file opened once."""
        import h5py

        rows = [i if isinstance(i, int) else self.index_of(i)[0] for i in images]
        for row in rows:
            if not 0 <= row < len(self.metadata):
                raise UsageError(f"image index {row} is outside 0-{len(self.metadata) - 1}")
        with h5py.File(self._file(IMAGES), "r") as h5:
            values = [h5["images"][row] for row in rows]
        return [bytes(v.tobytes() if hasattr(v, "tobytes") else v) for v in values]

    def get_image_bytes(self, image: str | int) -> bytes:
        return self._encoded([image])[0]

    def get_image(self, image: str | int, format: ImageFormat = "pil",
                  composite: bool = True) -> Any:  # fmt: skip
        """One image by name or index: ``bytes`` (as stored), a PIL image, or an
        ``(H, W, C)`` uint8 array; RGBA is composited onto mid-grey unless ``composite=False``."""
        return self.get_images([image], format, composite)[0]

    def get_images(self, images: Sequence[str | int], format: ImageFormat = "pil",
                   composite: bool = True) -> list[Any]:  # fmt: skip
        if format not in ("pil", "bytes", "array"):
            raise unknown("image format", format, ["pil", "bytes", "array"])
        encoded = self._encoded(images)
        if format == "bytes":
            return list(encoded)
        return [_decoded(data, format, composite) for data in encoded]

    # -- embeddings, captions, segmentations -------------------------------------------------
    @property
    def embeddings(self) -> Embeddings:
        """``stim.embeddings.get("CLIP", names)``; ``stim.embeddings.models``."""
        return Embeddings(self)

    def get_embeddings(self, model: str, names: Sequence[str]) -> npt.NDArray[np.float32]:
        """``(len(names), D)`` float32 in the caller's order; NaN rows where the file marks
        the embedding as not valid."""
        import h5py

        if model not in MODELS:
            raise unknown("embedding model", model, MODELS)
        with h5py.File(self._file(f"task-images_desc-{model}_embeddings.h5"), "r") as h5:
            ids = [n.decode() if isinstance(n, bytes) else str(n) for n in h5["image_ids"][()]]
            where = {n: i for i, n in enumerate(ids)}
            missing = [n for n in names if n not in where]
            if missing:
                raise unknown("image", missing[0], ids[:12], f"in the {model} embeddings")
            rows = [where[n] for n in names]
            values = np.asarray(h5["embedding"][()], dtype=np.float32)[rows]
            valid = np.asarray(h5["valid"][()], dtype=bool)[rows]
        values[~valid] = np.nan
        return values

    @cached_property
    def captions(self) -> dict[str, str]:
        """One caption per image: the human caption ranked first (the file is long form,
        one row per caption: ``caption_idx`` 0 is the AI caption, 1.. the human ranks)."""
        table = pd.read_csv(self._file(CAPTIONS), keep_default_na=False)
        first = table[(table["source"] == "human") & (table["caption_idx"] == 1)]
        return dict(zip(first["image_name"].astype(str), first["caption"].astype(str), strict=True))

    def get_captions(self, names: Sequence[str]) -> list[str]:
        missing = [n for n in names if n not in self.captions]
        if missing:
            raise unknown("image", missing[0], list(self.captions)[:12], "with a caption")
        return [self.captions[n] for n in names]

    @cached_property
    def _segmentation_rows(self) -> dict[str, list[int]]:
        table = pd.read_csv(self._file(SEGMENTATION_TABLE), keep_default_na=False)
        rows: dict[str, list[int]] = {}
        for name, row in zip(table["image_name"].astype(str), table["mask_row"], strict=True):
            rows.setdefault(name, []).append(int(row))
        return rows

    def get_segmentation(self, name: str) -> npt.NDArray[np.uint8]:
        """The masks of a shared image, ``(n_masks, H, W)``: one per (noun, instance), in
        the order of ``task-images_desc-segmentations_metadata.csv``."""
        import h5py

        rows = self._segmentation_rows.get(name)
        if rows is None:
            raise unknown(
                "shared image", name, list(self._segmentation_rows)[:12], "with a segmentation"
            )
        with h5py.File(self._file(SEGMENTATIONS), "r") as h5:
            return np.asarray(h5["masks"][sorted(rows)], dtype=np.uint8)


class Embeddings:
    """The four embedding files, by model name."""

    models = MODELS

    def __init__(self, stimuli: Stimuli) -> None:
        self._stimuli = stimuli

    def get(self, model: str, names: Sequence[str]) -> npt.NDArray[np.float32]:
        """``(len(names), D)`` float32 in the caller's order (NaN rows: not valid)."""
        return self._stimuli.get_embeddings(model, names)


def _decoded(data: bytes, format: ImageFormat, composite: bool) -> Any:
    from PIL import Image

    opened = Image.open(io.BytesIO(data))
    opened.load()
    picture: Image.Image = opened
    if composite and picture.mode in ("RGBA", "LA", "P"):
        rgba = picture.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*DISPLAY_GREY, 255))
        picture = Image.alpha_composite(background, rgba).convert("RGB")
    return np.asarray(picture) if format == "array" else picture
