"""Where an analysis's jobs run: a Dask LocalCluster, or a batch scheduler's jobs through
dask-jobqueue. Dask is imported only when a cluster is started, so the command line can name
the kinds without loading it."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..checks.choices import unknown

# dask-jobqueue's clusters by scheduler; each reads its settings from Dask's configuration
# (``jobqueue.<name>`` in ~/.config/dask/jobqueue.yaml, or DASK_JOBQUEUE__<NAME>__* variables).
JOBQUEUE = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster"}
CLUSTERS = ("local", *JOBQUEUE)


def cluster_kind(kind: str) -> str:
    """``kind`` when it names a cluster this package can start; a ``UsageError`` if not."""
    if kind not in CLUSTERS:
        raise unknown("cluster", kind, CLUSTERS)
    return kind


@contextmanager
def dask_client(kind: str, workers: int) -> Iterator[Any]:
    """A Dask client on ``workers`` single-threaded worker processes: a LocalCluster, or
    ``workers`` jobs of a dask-jobqueue cluster configured in Dask's configuration."""
    distributed: Any = importlib.import_module("distributed")  # untyped: used through Any
    logging.getLogger("distributed").setLevel(logging.WARNING)  # not a line per worker event
    if kind == "local":
        cluster: Any = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    else:
        module = importlib.import_module("dask_jobqueue")
        cluster = getattr(module, JOBQUEUE[cluster_kind(kind)])()
        cluster.scale(jobs=workers)
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def dashboard_link(client: Any) -> str | None:
    try:
        importlib.import_module("bokeh")
    except ImportError:
        return None  # Dask serves its dashboard only with bokeh installed
    return str(client.dashboard_link)


def completed(futures: Any) -> Iterator[Any]:
    """Dask futures as they finish."""
    distributed: Any = importlib.import_module("distributed")
    yield from distributed.as_completed(futures)
