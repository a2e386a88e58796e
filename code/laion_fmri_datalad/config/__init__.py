"""What a user sets outside the command line: the ``LAION_FMRI_*`` environment variables,
each named and explained once (``variables.py``); the docs' table is made from it."""

from __future__ import annotations

from .variables import (
    ACCESS_URL,
    BETA_CACHE,
    CACHE_DIR,
    DATASET,
    REQUEST_ID,
    SOFTWARE_DRIFT,
    VARIABLES,
    Variable,
)

__all__ = [
    "ACCESS_URL",
    "BETA_CACHE",
    "CACHE_DIR",
    "DATASET",
    "REQUEST_ID",
    "SOFTWARE_DRIFT",
    "VARIABLES",
    "Variable",
]
