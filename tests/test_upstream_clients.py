"""Code written for upstream's ``laion_fmri`` runs unchanged on a clone (issue 35): upstream's
tutorial, cell by cell with its asserts, through ``laion-fmri-datalad compat``, including its
range read of ``model.h5`` with h5py and fsspec against the local server.

The transcription (``tests/clients/get_to_know_a_dataset.py``) is upstream's text; only the
live bucket's constants are replaced here by the fixture's, each exactly once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from laion_fmri_datalad.config import DATASET
from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
from laion_fmri_datalad.devserver.localbucket import ServedBucket

TUTORIAL = Path(__file__).parent / "clients" / "get_to_know_a_dataset.py"
CLI = [sys.executable, "-m", "laion_fmri_datalad.cli"]


def tutorial(served: ServedBucket, design: SubjectDesign) -> str:
    """The transcription with the fixture's constants: its bucket's URL on the local server
    (path style), sub-01's sessions, and FFA1's voxels in the anatomical brain mask."""
    base = f"{served.server.endpoint_url}/{served.manifest.bucket}/"
    sessions = public_sessions(design)
    replacements = {
        'sessions = [f"ses-{i:02d}" for i in range(1, 31)]': (f"sessions = {sessions!r}"),
        "assert len(voxel_indices) == 222": (
            f"assert len(voxel_indices) == {int(design.roi_mask('FFA1').sum())}"
        ),
        'base_url = f"https://{bucket}.s3.{region}.amazonaws.com/"': f"base_url = {base!r}",
    }
    text = TUTORIAL.read_text()
    for old, new in replacements.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def public_sessions(design: SubjectDesign) -> list[str]:
    """The sessions the fixture publishes (the live bucket's 30; ``ses-31`` on are held out)."""
    return design.spec.sessions[: design.spec.public_sessions]


def compat(clone: Path, *command: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != DATASET}
    env.update(MPLBACKEND="Agg", **extra)
    return subprocess.run(
        [*CLI, "compat", "-d", str(clone), "--", *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_upstreams_tutorial_runs_unchanged(
    clone: Path, served: ServedBucket, design: SubjectDesign, tmp_path: Path
) -> None:
    script = tmp_path / "get_to_know_a_dataset.py"
    script.write_text(tutorial(served, design))
    done = compat(
        clone, sys.executable, str(script), cwd=tmp_path, LAION_FMRI_TUTORIAL_DATA_DIR=str(clone)
    )
    assert done.returncode == 0, done.stderr[-4000:]
    out = done.stdout
    assert f"Bucket: s3://{served.manifest.bucket}" in out
    assert "Participants: sub-01, sub-03, sub-05, sub-06, sub-07" in out
    sessions = public_sessions(design)
    assert f"Loaded {sum(len(design.labels(s)) for s in sessions):,} trials" in out
    assert "Median held-out voxel correlation:" in out
    cached = sorted(p.name for p in (clone / "ffa_h5").iterdir())  # the cell's own cache
    assert cached == sorted(f"sub-01_{s}_FFA-1.npz" for s in sessions)


def test_an_installed_upstream_is_never_shadowed(clone: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "laion_fmri").mkdir(parents=True)
    (site / "laion_fmri" / "__init__.py").write_text("WHO = 'upstream'\n")
    # the runner sees it: one line, nothing run
    done = compat(clone, sys.executable, "-c", "print('ran')", cwd=tmp_path, PYTHONPATH=str(site))
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr.count("\n") == 1 and "upstream's laion_fmri is installed" in done.stderr
    # a command that puts it on its own path behind the layer: the layer refuses to load
    shell = f'PYTHONPATH="$PYTHONPATH:{site}" {sys.executable} -c "import laion_fmri"'
    done = compat(clone, "sh", "-c", shell, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("ImportError: upstream's laion_fmri")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("from laion_fmri.discovery import fetch_everything", "fetch_everything is not served"),
        ("import laion_fmri; laion_fmri.dataset_initialize('/nonexistent')", "not a clone"),
    ],
)
def test_what_the_layer_cannot_serve_is_one_line(
    clone: Path, tmp_path: Path, code: str, expected: str
) -> None:
    done = compat(clone, sys.executable, "-c", code, cwd=tmp_path)
    assert done.returncode == 1
    assert expected in done.stderr.strip().splitlines()[-1]
