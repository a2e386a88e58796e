"""``betas``: an ROI's single-trial betas of some sessions into a ``.npz``, for people who
work outside Python; by default read by byte ranges of each session's ``model.h5``, as
``get_betas`` reads them, so a fresh clone never gets a whole session for an ROI.

    laion-fmri-datalad betas --subject 01 --roi FFA1 --ses 01 02 -o ffa1.npz
    laion-fmri-datalad betas --subject 01 --roi FFA1 --ses 01 02 --dry-run   # ranges, bytes

The file holds, per session, ``<session>`` (float32 ``(n_trials, n_voxels)``) and
``<session>_label`` (each row's image); and ``voxels``, the voxels' positions in the
subject's brain mask.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..runtime.reports import Done, Report
from .options import add_dataset


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    betas = sub.add_parser(
        "betas", help="an ROI's single-trial betas of some sessions into a .npz (range reads)"
    )
    betas.add_argument("--subject", required=True, help="one subject (sub-01 or 01)")
    betas.add_argument("--roi", nargs="+", required=True, help="ROI names and categories, or all")
    betas.add_argument("--ses", nargs="+", action="extend", help="sessions (default: all)")
    betas.add_argument(
        "--source",
        choices=("auto", "nifti", "model"),
        default="auto",
        help="what is read: the NIfTI if here, else model.h5 by ranges (auto); or force one",
    )
    betas.add_argument("-o", "--output", type=Path, help="the .npz to write")
    betas.add_argument(
        "--dry-run", action="store_true", help="print the byte ranges and bytes, write nothing"
    )
    add_dataset(betas, "the clone")
    betas.set_defaults(func=run_betas)


def run_betas(args: argparse.Namespace) -> Report:
    import numpy as np

    from ..checks.validate import file_to_write
    from ..errors import UsageError
    from ..layout.discovery import find_superdataset
    from ..loaders import load_subject
    from ..loaders.api.modelbetas import model_rows, plan_model_reads

    if not args.dry_run and args.output is None:
        raise UsageError("give -o/--output FILE.npz, or --dry-run")
    output = None if args.dry_run else file_to_write(args.output, "output", (".npz",))
    root = find_superdataset(args.dataset)
    sub = load_subject(args.subject, dataset=root)
    sessions = [sub.files.session(s) for s in (args.ses or sub.get_sessions())]
    selection = sub.get_roi_mask(args.roi)
    if args.dry_run:
        rows = model_rows(sub, selection, None)
        if rows is None:
            raise UsageError(f"ROI {args.roi} reaches outside the anatomical brain mask")
        trials = {s: len(sub.get_trial_info(s)) for s in sessions}
        return plan_model_reads(sub, sessions, rows, trials)
    assert output is not None
    got = sub.get_betas(sessions, roi=args.roi, source=args.source, return_trials=True)
    arrays: dict[str, object] = {"voxels": np.flatnonzero(selection)}
    for session, (values, table) in got.items():
        arrays[session] = values
        arrays[f"{session}_label"] = np.array(table["label"].astype(str).tolist(), dtype=str)
    partial = output.with_name(f".{output.name}.partial.npz")
    np.savez(partial, **arrays)  # type: ignore[arg-type]
    partial.replace(output)
    n_trials = sum(len(t) for _, t in got.values())
    return Done(
        f"{output}: {int(selection.sum())} voxels x {n_trials} trials of {len(got)} sessions"
    )
