"""The environment variables this package reads: one home for each name, its meaning and
its default. ``docs/_ext/env_variables.py`` renders ``VARIABLES`` as the docs' table, and a
unit test finds every ``LAION_FMRI_*`` name in the source here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    meaning: str
    read_by: str  # the module that reads it


DATASET = "LAION_FMRI_DATASET"
BETA_CACHE = "LAION_FMRI_BETA_CACHE"
CACHE_DIR = "LAION_FMRI_CACHE_DIR"
SOFTWARE_DRIFT = "LAION_FMRI_SOFTWARE_DRIFT"
REQUEST_ID = "LAION_FMRI_REQUEST_ID"
ACCESS_URL = "LAION_FMRI_ACCESS_URL"

VARIABLES = (
    Variable(
        DATASET,
        "the clone containing the working directory",
        "the clone the loaders open when no `dataset=` is given",
        "layout/discovery.py",
    ),
    Variable(
        BETA_CACHE,
        "on",
        "`off` reads betas without the voxel-major cache (as `get_betas(cache=False)`)",
        "loaders/betas/cache.py",
    ),
    Variable(
        CACHE_DIR,
        "each subdataset's `.git/laion-fmri/cache`",
        "where the voxel-major betas caches and `model.h5` row caches go (an analysis run "
        "sets it for its jobs: the shared directory)",
        "loaders/betas/cache.py",
    ),
    Variable(
        SOFTWARE_DRIFT,
        "unset (a job stops when its software differs from `code/environment.txt`)",
        "`allow` runs an analysis job under other software than its pin, saying what differs",
        "analysis/software.py",
    ),
    Variable(
        REQUEST_ID,
        "the token cached by `request-access` (mode 0600)",
        "the access token for the gated stimulus images",
        "gated/tokens.py",
    ),
    Variable(
        ACCESS_URL,
        "the URL the dataset records for the gated special remote",
        "the access service that checks tokens for the gated images",
        "gated/tokens.py",
    ),
)
