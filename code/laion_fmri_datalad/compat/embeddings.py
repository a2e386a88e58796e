"""Upstream's ``load_embeddings(models=)`` and ``download_embeddings(models=)``.

``load_embeddings`` is a context manager whose ``.get(model, ids)`` gives the rows of the
embedding file as stored (float16, in the caller's order): upstream's semantics, where
``Stimuli.embeddings`` (this package's) gives float32 with NaN rows for invalid entries.
Files are got with DataLad on first use, so ``download_embeddings`` is needed only to fetch
ahead of time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from ..checks.choices import unknown
from ..errors import DataMismatchError
from ..layout.names import embedding_file
from ..loaders.api.stimuli import MODELS, Stimuli, load_stimuli
from ..loaders.api.unknownkey import unknown_key
from .datadir import data_dir

Models = str | Sequence[str]


def _models(models: Models) -> list[str]:
    wanted = list(MODELS) if models == "all" else [models] if isinstance(models, str) else None
    if wanted is None:
        if not isinstance(models, Sequence) or not all(isinstance(m, str) for m in models):
            raise unknown("models", models, ["all", *MODELS])
        wanted = list(models)
    for model in wanted:
        if model not in MODELS:
            raise unknown("embedding model", model, MODELS)
    return wanted


def download_embeddings(models: Models = "all") -> dict[str, Path]:
    """Get the embedding files of ``models`` (``"all"``, a name or a list); returns each
    model's file."""
    wanted = _models(models)
    stimuli = load_stimuli(data_dir())
    return {model: stimuli.file(embedding_file(model)) for model in wanted}


class Embeddings:
    """Upstream's embedding reader: ``models``, ``image_ids``, ``len``, ``in``,
    ``[model]`` (the whole float16 matrix) and ``get(model, image_name or names)``."""

    def __init__(self, models: Models = "all", stimuli: Stimuli | None = None) -> None:
        self.models = tuple(_models(models))
        self._stimuli = stimuli if stimuli is not None else load_stimuli(data_dir())
        self._rows: dict[str, npt.NDArray[np.float16]] = {}
        self._ids: list[str] = []

    def _load(self, model: str) -> npt.NDArray[np.float16]:
        import h5py

        if model not in self.models:
            raise unknown("embedding model", model, self.models, "opened here")
        if model not in self._rows:
            with h5py.File(self._stimuli.file(embedding_file(model)), "r") as h5:
                ids = [n.decode() if isinstance(n, bytes) else str(n) for n in h5["image_ids"][()]]
                self._rows[model] = np.asarray(h5["embedding"][()])
            if self._ids and ids != self._ids:
                raise DataMismatchError(f"the {model} embeddings list the images in another order")
            self._ids = ids
        return self._rows[model]

    @property
    def image_ids(self) -> list[str]:
        if not self._ids:
            self._load(self.models[0])
        return list(self._ids)

    def __len__(self) -> int:
        return len(self.image_ids)

    def __contains__(self, image_name: object) -> bool:
        return image_name in set(self.image_ids)

    def __getitem__(self, model: str) -> npt.NDArray[np.float16]:
        return self._load(model)

    def get(self, model: str, image_name: str | Sequence[str] | Any) -> npt.NDArray[np.float16]:
        """``(D,)`` for one name, ``(n, D)`` for several, in the caller's order."""
        rows = self._load(model)
        where = {name: i for i, name in enumerate(self._ids)}
        names = [image_name] if isinstance(image_name, str) else [str(n) for n in image_name]
        missing = [n for n in names if n not in where]
        if missing:
            raise unknown_key("image", missing[0], self._ids[:12], f"in the {model} embeddings")
        picked = rows[[where[n] for n in names]]
        return picked[0] if isinstance(image_name, str) else picked

    def close(self) -> None:
        self._rows.clear()

    def __enter__(self) -> Embeddings:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def load_embeddings(models: Models = "all") -> Embeddings:
    """Upstream's ``load_embeddings(models=)``: use it as ``with load_embeddings(models="CLIP")
    as features: features.get("CLIP", ids)``."""
    return Embeddings(models)
