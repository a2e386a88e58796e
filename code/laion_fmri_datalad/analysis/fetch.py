"""The run's one fetch: every input its jobs get whole, got once into the analysis
dataset's ``inputs/laion-fmri`` before any job starts (``sharing`` says why), through the
loaders' own fetch (in parallel, failed transfers tried again, a progress bar of bytes)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import LaionFmriError
from ..layout.names import ANALYSIS_INPUTS
from ..loaders.clone.content import Content, annexed_size, is_present
from ..loaders.clone.fetching import FetchSummary, fetch
from ..loaders.clone.selection import Selected
from ..runtime.progress import ProgressBar


def fetch_inputs(
    analysis: Path, inputs: list[Path], workers: int, bar: ProgressBar
) -> FetchSummary:
    """Get every input not present, once; a ``LaionFmriError`` naming what failed (run
    again to retry) before any job runs."""
    selected = []
    for path in inputs:
        size = annexed_size(path)
        selected.append(Selected(path, "", size or 0, size is not None, is_present(path)))
    content = Content(analysis / ANALYSIS_INPUTS)
    report = fetch(content, selected, jobs=workers, bar=bar, description="fetch")
    still = [s.path for s in selected if not s.present and not is_present(s.path)]
    if still:
        first = (
            ": ".join(report.failed[0]) if report.failed else os.path.relpath(still[0], analysis)
        )
        raise LaionFmriError(
            f"could not get {len(still)} of {sum(not s.present for s in selected)} inputs "
            f"(first: {first[:200]}); run the same command again to retry"
        )
    return report
