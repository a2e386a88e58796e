"""Checking recorded ``datalad run`` commits: rerun each in a temporary clone and compare
the outputs it makes with those the dataset holds at the revision checked."""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis.jobspec import ranged_inputs
from ..analysis.software import ALLOW, ENVIRONMENT, current, differences, parse
from ..config import SOFTWARE_DRIFT
from ..errors import LaionFmriError, UsageError
from ..layout.endpoint import serves_from_loopback
from ..repo import datalad
from ..repo.dataset import registered_subdatasets, remove_dataset
from ..repo.git import config_regexp, git, git_oneline, git_or_none, rev_parse

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
        for label, paths in (
            ("differ", self.differing),
            ("not remade", self.missing),
            ("new", self.extra),
        ):
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

    def details(self) -> str:
        return "\n".join(c.line() for c in self.checks)

    def summary(self) -> str:
        verdict = "reproduced" if self.ok else "NOT reproduced"
        return f"{sum(c.ok for c in self.checks)} of {len(self.checks)} runs {verdict}"


def run_records(
    root: Path, revision: str, since: str | None = None
) -> list[tuple[str, str, dict[str, Any]]]:
    """``(commit, subject, record)`` of each run commit reachable from ``revision`` (and not
    from ``since``, where given), oldest first."""
    span = revision if since is None else f"{since}..{revision}"
    out = git_oneline(root, "log", "--reverse", "--format=%H%x00%s%x00%B%x1e", span)
    found = []
    for entry in out.split("\x1e"):
        if RUN_MARKER not in entry:
            continue
        commit, subject, body = entry.strip("\n").split("\x00", 2)
        record = body.split(RUN_MARKER, 1)[1].split(RUN_END, 1)[0]
        found.append((commit, subject, json.loads(record)))
    return found


def _first_line(result: dict[str, Any]) -> str:
    return datalad.result_message(result)[:300]


def _inherit_source_candidates(root: Path, clone: Path) -> None:
    """Let the temporary clone find subdatasets where the original found them (a RIA
    store configured at clone time lives in the original's local git config)."""
    candidates = config_regexp(root, r"^datalad\.get\.subdataset-source-candidate")
    for key, value in candidates.items():
        git_oneline(clone, "config", "--local", key, value)
    # the original's installed subdatasets, then where the original came from
    git_oneline(
        clone,
        "config",
        "--local",
        "datalad.get.subdataset-source-candidate-050original",
        f"{root}/{{path}}",
    )
    origin = git_or_none(root, "remote", "get-url", "origin")
    if origin and "://" not in origin:  # a local path: its subdatasets sit beside it
        git_oneline(
            clone,
            "config",
            "--local",
            "datalad.get.subdataset-source-candidate-060upstream",
            f"{origin}/{{path}}",
        )


def _subdatasets_of(root: Path, paths: list[str]) -> list[str]:
    """The subdatasets (from ``.gitmodules``) that contain any of ``paths``."""
    subdatasets = sorted(registered_subdatasets(root))
    return [s for s in subdatasets if any(p == s or p.startswith(s + "/") for p in paths)]


def _matches(root: Path, patterns: list[str]) -> list[Path]:
    """The paths ``patterns`` name under ``root``, dangling symlinks (annexed files
    without content) included: ``Path.glob`` skips those when a pattern has no wildcard."""
    found: list[Path] = []
    for pattern in patterns:
        literal = not any(c in pattern for c in "*?[")
        found += (
            [root / pattern] if literal and (root / pattern).is_symlink() else root.glob(pattern)
        )
    return found


def _digests(root: Path, patterns: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            if path.is_file():
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _commit(root: Path, revision: str, what: str) -> str:
    found = rev_parse(root, revision)
    if found is None:
        raise UsageError(f"{what} {revision!r} is not a commit of {str(root)!r}")
    return found


def verify_runs(
    dataset: Path,
    revision: str = "HEAD",
    workdir: Path | None = None,
    allow_drift: bool = False,
    since: str | None = None,
) -> VerifyRunsReport:
    """Rerun every recorded run commit in the history of ``revision`` (only those after
    ``since``, as ``datalad rerun --since`` takes them, where given), each in a fresh
    temporary clone checked out at ``revision``, and compare outputs byte for byte. An
    analysis job under software other than its pin fails with the one line its script
    gives, unless ``allow_drift`` (then it runs, and its log says what differs)."""
    root = Path(dataset).absolute()
    resolved = _commit(root, revision, "revision")
    start = None if since is None else _commit(root, since, "--since")
    drift = {SOFTWARE_DRIFT: ALLOW} if allow_drift else None
    loopback = serves_from_loopback(root)
    report = VerifyRunsReport(resolved)
    records = run_records(root, resolved, start)
    if not records:  # nothing to verify: said before any clone is made
        span = revision if since is None else f"{since}..{revision}"
        raise UsageError(
            f"no datalad run commit in {span!r} of {str(root)!r}; give a revision (or a "
            "--since) whose history has one"
        )
    for commit, subject, record in records:
        check = RunCheck(commit, subject, str(record.get("cmd", "")))
        report.checks.append(check)
        scratch = Path(tempfile.mkdtemp(prefix="laion-fmri-verify-", dir=workdir))
        try:
            clone = scratch / "clone"
            datalad.call("clone", source=str(root), path=str(clone))
            git_oneline(clone, "checkout", "-q", resolved)
            _inherit_source_candidates(root, clone)
            if (clone / ENVIRONMENT).is_file() and not allow_drift:  # an analysis dataset
                found = differences(parse((clone / ENVIRONMENT).read_text()), current())
                if found:
                    check.error = (
                        f"the software differs from {ENVIRONMENT}: {'; '.join(found)} "
                        "(verify --allow-software-drift runs it anyway)"
                    )
                    continue
            outputs = [str(o) for o in record.get("outputs", [])]
            inputs = [str(i) for i in record.get("inputs", [])]
            # install the subdatasets the run touches (outputs here are text in git)
            touched = _subdatasets_of(clone, outputs + inputs)
            if touched:
                failed = datalad.failures(
                    datalad.call(
                        "get",
                        path=[str(clone / p) for p in touched],
                        dataset=str(clone),
                        get_data=False,
                        check=False,
                    )
                )
                if failed:
                    check.error = "installing subdatasets: " + _first_line(failed[0])
                    continue
            body = git(clone, "log", "-1", "--format=%B", commit)
            ranged = ranged_inputs(body, inputs)
            if ranged:  # read by byte ranges: the others are got, these never whole
                got = [str(clone / p) for p in inputs if p not in ranged]
                failed = datalad.failures(
                    datalad.call(
                        "get", path=got, dataset=str(clone), check=False, loopback=loopback
                    )
                )
                if failed:
                    check.error = "getting inputs: " + _first_line(failed[0])
                    continue
            annexed = [str(p) for p in _matches(clone, outputs) if p.is_symlink()]
            if annexed:  # outputs in git-annex (an analysis dataset's maps): their bytes
                datalad.call(
                    "get", path=annexed, dataset=str(clone), check=False, loopback=loopback
                )
            held = _digests(clone, outputs)
            failed = datalad.failures(
                datalad.call(
                    "rerun",
                    revision=commit,
                    dataset=str(clone),
                    assume_ready="inputs" if ranged else None,
                    check=False,
                    loopback=loopback,
                    extra_env=drift,
                )
            )
            if failed:
                check.error = _first_line(failed[0])
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
            remove_dataset(scratch)
    return report
