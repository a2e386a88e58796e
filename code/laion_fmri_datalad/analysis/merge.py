"""Merging finished job branches from the output store into the analysis dataset, at a
cost linear in their number.

An octopus merge of thousands of branches (FAIRly big's) compares trees pairwise and grows
worse than linearly. Job branches never touch the same file (each writes its own
``results/<embedding>/<split>/<subject>/`` files), so the merged tree is the current tree
plus every job's changes: one ``git fetch`` of all job branches, one ``git diff-tree
--stdin`` listing each job commit's changes against its parent, one ``update-index`` into a
temporary index, one ``write-tree`` and one ``commit-tree`` whose parents are HEAD and every
job commit (so each job's run record stays in the history for ``datalad rerun``), then a
fast-forward. A branch that changes files outside its job's results is not merged.
Afterwards ``git annex fsck --fast --from output-storage`` records where the annexed
outputs are.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..repo.annex import annex
from ..repo.git import git, rev_parse
from .create import OUTPUT, STORAGE
from .jobspec import RESULTS
from .worker import BRANCH_PREFIX

TRACKING = f"refs/remotes/{OUTPUT}/{BRANCH_PREFIX}"
FSCK_CHUNK = 500  # paths per fsck call (command-line length)


@dataclass
class MergeReport:
    merged: list[str] = field(default_factory=list)  # job ids
    refused: dict[str, str] = field(default_factory=dict)  # job id -> why
    commit: str | None = None
    annexed: int = 0

    @property
    def ok(self) -> bool:
        return not self.refused

    def summary(self) -> str:
        if not self.merged and not self.refused:
            return "no job branches to merge"
        done = f"merged {len(self.merged)} job branches"
        if self.commit:
            done += f" in {self.commit[:10]}, {self.annexed} annexed outputs recorded in {STORAGE}"
        if self.refused:
            done += f"; {len(self.refused)} not merged: " + "; ".join(
                f"{job}: {why}" for job, why in sorted(self.refused.items())
            )
        return done


def _unmerged_tips(analysis: Path) -> dict[str, str]:
    """``{job id: commit}`` of the store's job branches HEAD does not contain."""
    git(analysis, "fetch", "-q", "--prune", OUTPUT, f"+refs/heads/{BRANCH_PREFIX}*:{TRACKING}*")
    listed = git(
        analysis,
        "for-each-ref",
        "--no-merged",
        "HEAD",
        "--format=%(objectname) %(refname)",
        TRACKING,
    )
    tips: dict[str, str] = {}
    for line in listed.splitlines():
        commit, ref = line.split(" ", 1)
        tips[ref.removeprefix(TRACKING)] = commit
    return tips


def _changes(analysis: Path, tips: dict[str, str]) -> dict[str, list[tuple[str, str, str, str]]]:
    """Per job commit, its changes against its first parent: (mode, object, status, path)."""
    listing = git(
        analysis,
        "diff-tree",
        "--stdin",
        "-r",
        "--no-renames",
        input="".join(f"{c}\n" for c in tips.values()).encode(),
    )
    changes: dict[str, list[tuple[str, str, str, str]]] = {c: [] for c in tips.values()}
    current = ""
    for line in listing.splitlines():
        if not line.startswith(":"):
            current = line.split()[0] if line.strip() else current
            continue
        meta, path = line.split("\t", 1)
        _, new_mode, _, new_object, status = meta[1:].split()
        changes.setdefault(current, []).append((new_mode, new_object, status, path))
    return changes


def merge_job_branches(analysis: Path, message: str) -> MergeReport:
    """Merge every finished, unmerged job branch of the store into ``analysis``."""
    report = MergeReport()
    tips = _unmerged_tips(analysis)
    if not tips:
        return report
    changes = _changes(analysis, tips)
    entries: list[str] = []
    parents: list[str] = []
    annexed: list[str] = []
    for job, commit in sorted(tips.items()):
        touched = changes.get(commit, [])
        outside = [p for _, _, _, p in touched if not p.startswith(f"{RESULTS}/")]
        if outside or not touched:
            report.refused[job] = f"changes {outside[0]}" if outside else "changes nothing"
            continue
        for mode, obj, status, path in touched:
            if status == "D":
                entries.append(f"0 {'0' * 40}\t{path}")
            else:
                entries.append(f"{mode} {obj}\t{path}")
                if mode == "120000":
                    annexed.append(path)
        parents.append(commit)
        report.merged.append(job)
    if not parents:
        return report
    head = rev_parse(analysis, "HEAD")
    assert head is not None
    with tempfile.TemporaryDirectory() as tmp:
        env_index = str(Path(tmp) / "index")
        tree = _tree_with(analysis, head, entries, env_index)
    arguments = ["commit-tree", tree, "-p", head]
    for parent in parents:
        arguments += ["-p", parent]
    commit = git(analysis, *arguments, "-m", message).strip()
    git(analysis, "merge", "-q", "--ff-only", commit)
    report.commit = commit
    for start in range(0, len(annexed), FSCK_CHUNK):
        annex(
            analysis,
            "fsck",
            "--fast",
            "--quiet",
            "--from",
            STORAGE,
            "--",
            *annexed[start : start + FSCK_CHUNK],
        )
    report.annexed = len(annexed)
    return report


def _tree_with(analysis: Path, head: str, entries: list[str], index: str) -> str:
    """The tree of ``head`` with ``entries`` (``update-index --index-info`` lines), built in
    the temporary ``index`` (given to each git call; the dataset's own index is untouched)."""
    scratch = {"GIT_INDEX_FILE": index}
    git(analysis, "read-tree", head, extra_env=scratch)
    listed = ("\n".join(entries) + "\n").encode()
    git(analysis, "update-index", "--index-info", input=listed, extra_env=scratch)
    return git(analysis, "write-tree", extra_env=scratch).strip()
