"""Checking recorded ``datalad run`` commits: rerun each in a temporary clone and compare
the outputs it makes with those the dataset holds at the revision checked."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LaionFmriError
from ..gitenv import apply_to_current_process
from .gitquery import git

RUN_MARKER = "=== Do not change lines below ==="
RUN_END = "^^^ Do not change lines above ^^^"


@dataclass
class RunCheck:
    commit: str
    subject: str
    command: str
    identical: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # held by the dataset, not remade
    extra: list[str] = field(default_factory=list)  # remade, not held by the dataset
    error: str = ""

    @property
    def ok(self) -> bool:
        return not (self.differing or self.missing or self.extra or self.error)

    def line(self) -> str:
        head = f"{self.commit[:10]} {self.subject!r}: "
        if self.error:
            return head + f"rerun failed: {self.error}"
        text = head + f"{len(self.identical)} outputs identical"
        for label, paths in (("differ", self.differing), ("not remade", self.missing),
                             ("new", self.extra)):  # fmt: skip
            if paths:
                text += f"; {len(paths)} {label}: " + ", ".join(paths[:5])
                text += " ..." if len(paths) > 5 else ""
        return text


@dataclass
class VerifyRunsReport:
    revision: str
    checks: list[RunCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def text(self) -> str:
        if not self.checks:
            return f"no datalad run commit in the history of {self.revision[:10]}"
        verdict = "reproduced" if self.ok else "NOT reproduced"
        lines = [c.line() for c in self.checks]
        lines.append(f"{sum(c.ok for c in self.checks)} of {len(self.checks)} runs {verdict}")
        return "\n".join(lines)


def run_records(root: Path, revision: str) -> list[tuple[str, str, dict[str, Any]]]:
    """``(commit, subject, record)`` of each run commit reachable from ``revision``, oldest
    first."""
    out = git(root, "log", "--reverse", "--format=%H%x00%s%x00%B%x1e", revision)
    found = []
    for entry in out.split("\x1e"):
        if RUN_MARKER not in entry:
            continue
        commit, subject, body = entry.strip("\n").split("\x00", 2)
        record = body.split(RUN_MARKER, 1)[1].split(RUN_END, 1)[0]
        found.append((commit, subject, json.loads(record)))
    return found


def _digests(root: Path, patterns: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            if path.is_file():
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def verify_runs(
    root: Path, revision: str = "HEAD", workdir: Path | None = None
) -> VerifyRunsReport:
    """Rerun every recorded run commit in the history of ``revision``, each in a fresh
    temporary clone checked out at ``revision``, and compare outputs byte for byte."""
    import datalad.api as dl

    apply_to_current_process()
    root = root.absolute()
    resolved = git(root, "rev-parse", "--verify", f"{revision}^{{commit}}")
    report = VerifyRunsReport(resolved)
    for commit, subject, record in run_records(root, resolved):
        check = RunCheck(commit, subject, str(record.get("cmd", "")))
        report.checks.append(check)
        scratch = Path(tempfile.mkdtemp(prefix="laion-fmri-verify-", dir=workdir))
        try:
            clone = scratch / "clone"
            dl.clone(source=str(root), path=str(clone), result_renderer="disabled")
            git(clone, "checkout", "-q", resolved)
            outputs = [str(o) for o in record.get("outputs", [])]
            inputs = [str(i) for i in record.get("inputs", [])]
            # install what the run touches; get the outputs' content to compare with
            dl.get(path=[str(clone / p.split("*")[0].rstrip("/")) for p in outputs + inputs],
                   dataset=str(clone), get_data=False, result_renderer="disabled")  # fmt: skip
            held = _digests(clone, outputs)
            results = dl.rerun(revision=commit, dataset=str(clone), result_renderer="disabled",
                               on_failure="ignore")  # fmt: skip
            failed = [r for r in results if r.get("status") in ("error", "impossible")]
            if failed:
                from ..loaders.dataset import result_message

                check.error = result_message(failed[0])
                continue
            remade = _digests(clone, outputs)
            for path in sorted(set(held) | set(remade)):
                if path not in remade:
                    check.missing.append(path)
                elif path not in held:
                    check.extra.append(path)
                elif held[path] == remade[path]:
                    check.identical.append(path)
                else:
                    check.differing.append(path)
        except LaionFmriError as exc:
            check.error = str(exc)
        finally:
            _remove(scratch)
    return report


def _remove(path: Path) -> None:
    for child in path.rglob("*"):  # annexed objects are read-only
        if child.is_dir() and not child.is_symlink():
            child.chmod(0o755)
    shutil.rmtree(path, ignore_errors=True)
