"""Many processes on one fresh clone at once: loaders and ``get`` commands all succeed, agree,
and leave every subdataset whole; a subdataset left half installed is repaired by running
again."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from laion_fmri_datalad.layout.names import GLM
from laion_fmri_datalad.loaders import load_subject
from laion_fmri_datalad.loaders.clone.content import is_working_repository
from laion_fmri_datalad.repo.git import git

LOADER = """
import json, sys
import numpy as np
from laion_fmri_datalad.loaders import load_subject
sub = load_subject("sub-01", dataset=sys.argv[1])
betas = sub.get_betas("ses-01", roi="face")
mask = sub.get_roi_mask("FFA1")
print(json.dumps({"sum": float(np.nansum(betas, dtype=np.float64)), "shape": betas.shape,
                  "mask": int(mask.sum())}))
"""


def test_loaders_and_gets_at_once_on_a_fresh_clone(
    clone_of: Callable[[str, Path], Path], store: str, tmp_path: Path
) -> None:
    clone = clone_of(store, tmp_path / "clone")
    cli = [sys.executable, "-m", "laion_fmri_datalad.cli"]
    commands = [[sys.executable, "-c", LOADER, str(clone)] for _ in range(4)]
    commands += [[*cli, "get", "-d", str(clone), "--subject", "sub-01", "-J", "2"]] * 2
    running = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    outcomes = [(p.wait(timeout=600), *p.communicate()) for p in running]
    for (code, _out, err), command in zip(outcomes, commands, strict=True):
        assert code == 0, f"{command[-4:]}: {err[-2000:]}"
    answers = {out.strip().splitlines()[-1] for _, out, _ in outcomes[:4]}
    assert len(answers) == 1  # every loader saw the same betas
    answer = json.loads(answers.pop())
    assert answer["shape"][0] > 0 and answer["mask"] > 0
    for name in git(clone, "config", "-f", ".gitmodules", "--get-regexp", "path").split()[1::2]:
        if (clone / name / ".git").exists():
            assert is_working_repository(clone / name), name
            assert git(clone / name, "status", "--porcelain", "--untracked-files=no") == ""
    fsck = git(clone / GLM, "annex", "fsck", "--fast", "--quiet")
    assert "failed" not in fsck


def test_half_installed_subdataset_is_repaired_by_running_again(
    clone_of: Callable[[str, Path], Path], store: str, tmp_path: Path
) -> None:
    clone = clone_of(store, tmp_path / "clone")
    glm = clone / GLM
    load_subject("sub-01", dataset=clone).get_trial_info("ses-01")
    expected = load_subject("sub-01", dataset=clone).get_trial_info("ses-01")
    # A checkout stopped by a full disk: the index lost entries, files are gone.
    tracked = git(glm, "ls-files").split()
    lost = [p for p in tracked if p.endswith("_trials.tsv")]
    git(glm, "rm", "-q", "--cached", *lost)
    for path in lost:
        (glm / path).unlink()
    again = load_subject("sub-01", dataset=clone).get_trial_info("ses-01")
    assert again.equals(expected)
    assert git(glm, "status", "--porcelain", "--untracked-files=no") == ""
    # An install killed before its repository was usable: a .git without a commit.
    shutil.rmtree(glm)
    glm.mkdir()
    (glm / ".git").mkdir()
    (glm / "leftover").write_text("x")
    assert not is_working_repository(glm)
    assert load_subject("sub-01", dataset=clone).get_trial_info("ses-01").equals(expected)
    assert is_working_repository(glm) and not (glm / "leftover").exists()
