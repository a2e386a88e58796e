"""Starting is cheap: the command line's parser, ``--help`` and ``cite`` load none of the
libraries other commands need (pybids, nibabel, pandas, numpy, Dask, DataLad)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from laion_fmri_datalad.repo.git import git

HEAVY = ("bids", "nibabel", "pandas", "numpy", "dask", "distributed", "datalad", "h5py", "boto3")
PROBE = """
import contextlib, io, json, sys
from laion_fmri_datalad.cli import build_parser, main
build_parser()
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[1:]) if sys.argv[1:] else 0
    except SystemExit as stop:  # --help
        code = stop.code
print(json.dumps([code, sorted(m for m in {heavy!r} if m in sys.modules), out.getvalue()]))
"""


def loaded_by(*argv: str) -> tuple[int, list[str], str]:
    """The exit code, the heavy modules a fresh interpreter has loaded and what it printed,
    after building the parser and running ``argv`` (if any)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv],
        capture_output=True,
        text=True,
        check=True,
    )
    code, modules, printed = json.loads(done.stdout.splitlines()[-1])
    return int(code), list(modules), str(printed)


def test_building_the_parser_loads_no_heavy_library() -> None:
    assert loaded_by()[:2] == (0, [])


def test_help_loads_no_heavy_library() -> None:
    code, modules, printed = loaded_by("--help")
    assert (code, modules) == (0, []) and "usage: laion-fmri-datalad" in printed


def test_cite_loads_no_heavy_library(tmp_path: Path) -> None:
    root = tmp_path / "laion-fmri"
    root.mkdir()
    git(root, "init", "-q")
    (root / ".datalad").mkdir()
    (root / ".datalad/config").write_text('[datalad "dataset"]\n\tid = 1234\n')
    (root / ".gitmodules").write_text(
        '[submodule "g"]\n\tpath = derivatives/glmsingle-tedana\n\turl = ./g\n'
    )
    (root / "CITATION.cff").write_text(
        'cff-version: 1.2.0\ntitle: "LAION-fMRI"\nversion: "1.0.0"\n'
    )
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "a superdataset's files")
    code, modules, printed = loaded_by("cite", "-d", str(root))
    assert (code, modules) == (0, []) and "LAION-fMRI" in printed


def test_the_suites_plugin_loads_no_development_server() -> None:
    """The unit tier runs without the [demo] extra: the fixtures plugin imports the
    development server (SeaweedFS, matplotlib) only inside the fixtures that start one."""
    probe = (
        "import json, sys; import laion_fmri_fixtures; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith("
        "('laion_fmri_datalad.devserver', 'matplotlib', 'boto3')))))"
    )
    tests = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tests, check=True
    )
    assert json.loads(done.stdout) == []
