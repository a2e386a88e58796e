"""Merging finished task branches from the output store into the analysis dataset, at a
cost linear in their number.

An octopus merge of thousands of branches (FAIRly big's) compares trees pairwise and grows
worse than linearly. Task branches never touch the same file (each job writes its own
``results/...`` or ``responses/...`` files), so the merged tree is the current tree plus
every branch's changes: one ``git fetch`` of all task branches, a ``git diff-tree`` of each
branch against its fork point (a branch carries one commit per job of its task), one
``update-index`` into a temporary index, one ``write-tree`` and one ``commit-tree`` whose parents are HEAD and every
branch tip (so each job's run record stays in the history for ``datalad rerun``), then a
fast-forward (in chunks of at most ``MAX_PARENTS`` parents). A branch that changes files
outside the outputs is not merged. Afterwards
``git annex fsck --fast --from output-storage`` records where the annexed outputs are (also
those an interrupted merge left unrecorded), and the merged branches are deleted from the
store, so a run leaves no branch behind.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..repo.annex import annex
from ..repo.git import config_get, git, rev_parse
from .create import OUTPUT, STORAGE
from .jobspec import RESPONSES, RESULTS, job_of
from .worker import BRANCH_PREFIX

TRACKING = f"refs/remotes/{OUTPUT}/{BRANCH_PREFIX}"
CHUNK = 500  # paths or refs per git call (command-line length)
MAX_PARENTS = 1000  # per merge commit; more branches are merged in chunks
OUTPUTS = (f"{RESULTS}/", f"{RESPONSES}/")


@dataclass
class MergeReport:
    merged: list[str] = field(default_factory=list)  # job ids
    branches: int = 0  # task branches merged
    refused: dict[str, str] = field(default_factory=dict)  # branch -> why
    commit: str | None = None
    annexed: int = 0

    @property
    def ok(self) -> bool:
        return not self.refused

    def summary(self) -> str:
        if not self.merged and not self.refused:
            return "no job branches to merge"
        done = f"merged {len(self.merged)} jobs of {self.branches} task branches"
        if self.commit:
            done += f" in {self.commit[:10]}, {self.annexed} annexed outputs recorded in {STORAGE}"
        if self.refused:
            done += f"; {len(self.refused)} not merged: " + "; ".join(
                f"{job}: {why}" for job, why in sorted(self.refused.items())
            )
        return done


def _store_tips(analysis: Path) -> tuple[dict[str, str], list[str]]:
    """``{branch: commit}`` of the store's task branches HEAD does not contain, and the
    names of those it does (merged already: to delete)."""
    git(analysis, "fetch", "-q", "--prune", OUTPUT, f"+refs/heads/{BRANCH_PREFIX}*:{TRACKING}*")
    listed = git(
        analysis, "for-each-ref", "--format=%(objectname) %(refname)", TRACKING
    ).splitlines()
    merged = set(
        git(analysis, "for-each-ref", "--merged", "HEAD", "--format=%(refname)", TRACKING).split()
    )
    tips: dict[str, str] = {}
    done: list[str] = []
    for line in listed:
        commit, ref = line.split(" ", 1)
        name = ref.removeprefix(TRACKING)
        if ref in merged:
            done.append(name)
        else:
            tips[name] = commit
    return tips, done


def _fork_points(analysis: Path, tips: dict[str, str]) -> dict[str, str]:
    return {
        branch: git(analysis, "merge-base", "HEAD", commit).strip()
        for branch, commit in tips.items()
    }


def _changes(
    analysis: Path, tips: dict[str, str], bases: dict[str, str]
) -> dict[str, list[tuple[str, str, str, str]]]:
    """Per branch, its changes against its fork point: (mode, object, status, path)."""
    changes: dict[str, list[tuple[str, str, str, str]]] = {}
    for branch, commit in tips.items():
        listing = git(analysis, "diff-tree", "-r", "--no-renames", bases[branch], commit)
        found = changes.setdefault(branch, [])
        for line in listing.splitlines():
            if not line.startswith(":"):
                continue
            meta, path = line.split("\t", 1)
            _, new_mode, _, new_object, status = meta[1:].split()
            found.append((new_mode, new_object, status, path))
    return changes


def _jobs(analysis: Path, tip: str, base: str) -> list[str]:
    """The job ids of the run records between ``base`` and ``tip``, oldest first."""
    subjects = git(analysis, "log", "--reverse", "--format=%s", f"{base}..{tip}").splitlines()
    return [job for job in map(job_of, subjects) if job]


def _delete_branches(analysis: Path, branches: list[str]) -> None:
    for start in range(0, len(branches), CHUNK):
        names = [f"refs/heads/{BRANCH_PREFIX}{b}" for b in branches[start : start + CHUNK]]
        git(analysis, "push", "-q", OUTPUT, "--delete", *names)
        for b in branches[start : start + CHUNK]:
            git(analysis, "update-ref", "-d", f"{TRACKING}{b}")


def _record_in_storage(analysis: Path, paths: list[str]) -> int:
    """Record the store's copy of every annexed output git-annex does not know there yet."""
    if not paths:
        return 0
    for start in range(0, len(paths), CHUNK):
        annex(
            analysis,
            "fsck",
            "--fast",
            "--quiet",
            "--from",
            STORAGE,
            "--",
            *paths[start : start + CHUNK],
        )
    return len(paths)


def _unrecorded_outputs(analysis: Path) -> list[str]:
    present = [p for p in OUTPUTS if (analysis / p).is_dir()]
    if not present or config_get(analysis, "annex.uuid") is None:
        return []
    listed = annex(analysis, "find", "--not", "--in", STORAGE, "--include", "*", *present)
    return [line for line in listed.splitlines() if line]


def merge_job_branches(analysis: Path, message: str) -> MergeReport:
    """Merge every finished, unmerged task branch of the store into ``analysis``, record the
    outputs' copies in the store and delete the merged branches from it."""
    report = MergeReport()
    tips, done = _store_tips(analysis)
    if tips:
        _merge(analysis, tips, message, report)
    report.annexed = _record_in_storage(analysis, _unrecorded_outputs(analysis))
    merged = sorted(done + [b for b in tips if b not in report.refused])
    if merged:  # contained in HEAD now (or before, by an interrupted run): not needed
        _delete_branches(analysis, merged)
    return report


def _merge(analysis: Path, tips: dict[str, str], message: str, report: MergeReport) -> None:
    bases = _fork_points(analysis, tips)
    changes = _changes(analysis, tips, bases)
    accepted: list[tuple[str, list[str]]] = []  # (tip, index lines)
    for branch, commit in sorted(tips.items()):
        touched = changes.get(branch, [])
        outside = [p for _, _, _, p in touched if not p.startswith(OUTPUTS)]
        if outside or not touched:
            report.refused[branch] = f"changes {outside[0]}" if outside else "changes nothing"
            continue
        entries = [
            f"0 {'0' * 40}\t{path}" if status == "D" else f"{mode} {obj}\t{path}"
            for mode, obj, status, path in touched
        ]
        accepted.append((commit, entries))
        report.merged += _jobs(analysis, commit, bases[branch])
        report.branches += 1
    for start in range(0, len(accepted), MAX_PARENTS - 1):  # HEAD is a parent too
        chunk = accepted[start : start + MAX_PARENTS - 1]
        head = rev_parse(analysis, "HEAD")
        assert head is not None
        with tempfile.TemporaryDirectory() as tmp:
            lines = [line for _, entries in chunk for line in entries]
            tree = _tree_with(analysis, head, lines, str(Path(tmp) / "index"))
        arguments = ["commit-tree", tree, "-p", head]
        for commit, _ in chunk:
            arguments += ["-p", commit]
        merged = git(analysis, *arguments, "-m", message).strip()
        git(analysis, "merge", "-q", "--ff-only", merged)
        report.commit = merged


def _tree_with(analysis: Path, head: str, entries: list[str], index: str) -> str:
    """The tree of ``head`` with ``entries`` (``update-index --index-info`` lines), built in
    the temporary ``index`` (given to each git call; the dataset's own index is untouched)."""
    scratch = {"GIT_INDEX_FILE": index}
    git(analysis, "read-tree", head, extra_env=scratch)
    listed = ("\n".join(entries) + "\n").encode()
    git(analysis, "update-index", "--index-info", input=listed, extra_env=scratch)
    return git(analysis, "write-tree", extra_env=scratch).strip()


def merge_message(what: str) -> str:
    return f"[laion-fmri] Merge the job branches of the encoding analysis ({what})"
