"""The stimuli of a clone: metadata, images, embeddings, segmentations and captions.

As upstream's ``Stimuli`` hub: ``stim.metadata``, ``stim.images`` (``[name]`` bytes,
``.get(name)`` a PIL image), ``stim.embeddings`` (``.get(model, name or names)``),
``stim.captions`` (:class:`~.captions.Captions`) and ``stim.segmentations``
(:class:`~.segmentations.Segmentations`). Files come from the ``stimuli`` subdataset and are got through DataLad on first use; the
image HDF5 is gated, so getting it needs an access token (``laion-fmri-datalad
request-access``). Images are returned as encoded bytes, a PIL image, or an array; RGBA
images are composited onto mid-grey, as they were displayed, unless ``as_displayed=False``.
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

from ...checks.choices import unknown
from ...errors import UsageError
from ...layout.discovery import find_superdataset
from ...layout.names import EMBEDDING_MODELS, embedding_file
from ..clone.content import Content
from .captions import Captions
from .segmentations import Segmentations
from .unknownkey import unknown_key

STIMULI = "stimuli"
METADATA = "task-images_metadata.csv"
IMAGES = "task-images_stimuli.h5"
CAPTIONS = "task-images_desc-captions.csv"
SEGMENTATIONS = "task-images_desc-segmentations.h5"
SEGMENTATION_TABLE = "task-images_desc-segmentations_metadata.csv"
MODELS = EMBEDDING_MODELS
DISPLAY_GREY = (128, 128, 128)
ImageFormat = Literal["pil", "bytes", "array"]


def load_stimuli(dataset: str | os.PathLike[str] | None = None, *, fetch: bool = True) -> Stimuli:
    """The stimuli of the superdataset cloned at ``dataset``."""
    return Stimuli(Content(find_superdataset(dataset), fetch=fetch))


class Stimuli:
    def __init__(self, content: Content) -> None:
        self.content = content

    def file(self, name: str) -> Path:
        """The path of a file of the stimuli subdataset, its content got (installing the
        subdataset first if need be)."""
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
        return pd.read_csv(self.file(METADATA))

    @cached_property
    def _row(self) -> dict[str, int]:
        return {str(n): i for i, n in enumerate(self.metadata["image_name"])}

    def index_of(self, names: str | Sequence[str]) -> list[int]:
        """The rows of the images (of the metadata and of the image HDF5)."""
        wanted = [names] if isinstance(names, str) else list(names)
        rows = []
        for name in wanted:
            if name not in self._row:
                raise unknown_key("image", name, list(self._row)[:12])
            rows.append(self._row[name])
        return rows

    def names(self) -> list[str]:
        """Every image name, in metadata order."""
        return list(self._row)

    @property
    def images(self) -> Images:
        """``stim.images[name]`` (bytes as stored), ``stim.images.get(name)`` (PIL)."""
        return Images(self)

    # -- images ----------------------------------------------------------------------------
    def _encoded(self, images: Sequence[str | int]) -> list[bytes]:
        """The stored bytes of the images, read with the HDF5 file opened once."""
        import h5py

        if isinstance(images, str) or not isinstance(images, list | tuple):
            raise UsageError(f"images {images!r} is not allowed; give a list of names or indices")
        odd = [i for i in images if isinstance(i, bool) or not isinstance(i, int | str)]
        if odd:
            raise UsageError(f"image {odd[0]!r} is not allowed; give an image name or an index")
        rows = [i if isinstance(i, int) else self.index_of(i)[0] for i in images]
        for row in rows:
            if not 0 <= row < len(self.metadata):
                raise UsageError(f"image index {row} is outside 0-{len(self.metadata) - 1}")
        with h5py.File(self.file(IMAGES), "r") as h5:
            values = [h5["images"][row] for row in rows]
        return [bytes(v.tobytes() if hasattr(v, "tobytes") else v) for v in values]

    def get_image_bytes(self, image: str | int) -> bytes:
        return self._encoded([image])[0]

    def get_image(
        self, image: str | int, format: ImageFormat = "pil", as_displayed: bool = True
    ) -> Any:
        """One image by name or index: ``bytes`` (as stored), a PIL image, or an
        ``(H, W, C)`` uint8 array; RGBA is composited onto mid-grey, as displayed, unless ``as_displayed=False``."""
        return self.get_images([image], format, as_displayed)[0]

    def get_images(
        self, images: Sequence[str | int], format: ImageFormat = "pil", as_displayed: bool = True
    ) -> list[Any]:
        if format not in ("pil", "bytes", "array"):
            raise unknown("image format", format, ["pil", "bytes", "array"])
        encoded = self._encoded(images)
        if format == "bytes":
            return list(encoded)
        return [_decoded(data, format, as_displayed) for data in encoded]

    # -- embeddings, captions, segmentations -------------------------------------------------
    @cached_property
    def embeddings(self) -> Embeddings:
        """``stim.embeddings.get("CLIP", names)``; ``stim.embeddings.models``."""
        return Embeddings(self)

    def get_embeddings(self, model: str, names: Sequence[str]) -> npt.NDArray[np.float32]:
        """``(len(names), D)`` float32 in the caller's order; NaN rows where the file marks
        the embedding as not valid."""
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise UsageError(
                f"names {names!r} is not a list of image names; give a list "
                "(embeddings.get(model, name) takes one name)"
            )
        return self.embeddings.get(model, list(names))

    @cached_property
    def captions(self) -> Captions:
        """Every caption of every image: ``.human(name)``, ``.ai(name)``, ``.get(name)``."""
        return Captions(lambda: self.file(CAPTIONS))

    def get_captions(self, names: Sequence[str]) -> list[str]:
        """The best human caption of each image (rank 1), in the caller's order."""
        return self.captions.first(list(names))

    @cached_property
    def segmentations(self) -> Segmentations:
        """Masks of the shared images: ``.nouns(name)``, ``.get(name, noun, instance)``."""
        return Segmentations(
            lambda: self.file(SEGMENTATION_TABLE), lambda: self.file(SEGMENTATIONS)
        )

    def get_segmentation(self, name: str) -> npt.NDArray[np.uint8]:
        """Every mask of a shared image, ``(n_masks, H, W)``, in the table's order."""
        return self.segmentations.masks_of(name)


class Images:
    """The images by name or row: ``[key]`` the stored bytes, ``.get(key)`` a PIL image."""

    def __init__(self, stimuli: Stimuli) -> None:
        self._stimuli = stimuli

    @property
    def metadata(self) -> pd.DataFrame:
        return self._stimuli.metadata

    def __len__(self) -> int:
        return len(self._stimuli.metadata)

    def __getitem__(self, key: str | int) -> bytes:
        return self._stimuli.get_image_bytes(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            return key in self._stimuli._row
        if isinstance(key, int) and not isinstance(key, bool):
            return 0 <= key < len(self)
        return False

    def get(self, key: str | int, as_displayed: bool = True) -> Any:
        """The decoded PIL image as it was displayed: transparent pixels composited onto the
        presentation mid-grey (RGB); ``as_displayed=False`` keeps the stored mode (RGBA)."""
        return self._stimuli.get_image(key, "pil", as_displayed)

    def index_of(self, name: str) -> int:
        return self._stimuli.index_of(name)[0]

    def names(self) -> list[str]:
        return self._stimuli.names()


class Embeddings:
    """The four embedding files, by model name (rows in ``image_ids`` order)."""

    models = MODELS

    def __init__(self, stimuli: Stimuli) -> None:
        self._stimuli = stimuli
        self._files: dict[str, tuple[list[str], npt.NDArray[np.float32]]] = {}

    def _load(self, model: str) -> tuple[list[str], npt.NDArray[np.float32]]:
        """The image ids and the embeddings (float32; NaN rows where not valid)."""
        import h5py

        if model not in MODELS:
            raise unknown_key("embedding model", model, MODELS)
        if model not in self._files:
            path = self._stimuli.file(embedding_file(model))
            with h5py.File(path, "r") as h5:
                ids = [n.decode() if isinstance(n, bytes) else str(n) for n in h5["image_ids"][()]]
                values = np.asarray(h5["embedding"][()], dtype=np.float32)
                valid = np.asarray(h5["valid"][()], dtype=bool)
            values[~valid] = np.nan
            self._files[model] = (ids, values)
        return self._files[model]

    def __contains__(self, model: object) -> bool:
        return model in MODELS

    def __getitem__(self, model: str) -> npt.NDArray[np.float32]:
        """The whole ``(n_images, D)`` matrix of ``model``."""
        return self._load(model)[1]

    def image_ids(self, model: str = "CLIP") -> list[str]:
        return list(self._load(model)[0])

    def get(self, model: str, names: str | Sequence[str]) -> npt.NDArray[np.float32]:
        """``(D,)`` for one image name, ``(len(names), D)`` for several, in the caller's
        order; float32, NaN where the file marks the embedding as not valid."""
        ids, values = self._load(model)
        where = {n: i for i, n in enumerate(ids)}
        wanted = [names] if isinstance(names, str) else list(names)
        missing = [n for n in wanted if n not in where]
        if missing:
            raise unknown_key("image", missing[0], ids[:12], f"in the {model} embeddings")
        rows = values[[where[n] for n in wanted]]
        return rows[0] if isinstance(names, str) else rows


def _decoded(data: bytes, format: ImageFormat, as_displayed: bool) -> Any:
    from PIL import Image

    opened = Image.open(io.BytesIO(data))
    opened.load()
    picture: Image.Image = opened
    if as_displayed and picture.mode in ("RGBA", "LA", "P"):
        rgba = picture.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*DISPLAY_GREY, 255))
        picture = Image.alpha_composite(background, rgba).convert("RGB")
    return np.asarray(picture) if format == "array" else picture
