"""Upstream's ``laion_fmri.splits``, read from the clone's ``derivatives/splits``."""

from laion_fmri_datalad.compat.api import (
    get_split_masks,
    get_train_test_ids,
    list_ood_types,
    list_pools,
    list_splits,
    load_all_splits,
    load_split,
    not_served,
)

__all__ = [
    "get_split_masks",
    "get_train_test_ids",
    "list_ood_types",
    "list_pools",
    "list_splits",
    "load_all_splits",
    "load_split",
]
__getattr__ = not_served(__name__, {})
