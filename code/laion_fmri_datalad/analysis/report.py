"""What a run of the analysis did: per stage its jobs, tasks, outcomes and merge; for the
run the jobs already done, the merge of what an earlier run left, the fetch and the time
per stage."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..loaders.clone.fetching import FetchSummary
from .merge import MergeReport
from .worker import JobOutcome


@dataclass
class StageReport:
    name: str
    jobs: int = 0
    tasks: int = 0
    outcomes: list[JobOutcome] = field(default_factory=list)
    merge: MergeReport = field(default_factory=MergeReport)

    @property
    def failed(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if not o.ok]


@dataclass
class FanoutReport:
    requested: int
    already: int = 0
    stages: dict[str, StageReport] = field(default_factory=dict)
    recovered: MergeReport = field(default_factory=MergeReport)
    fetch: FetchSummary = field(default_factory=FetchSummary)
    seconds: dict[str, float] = field(default_factory=dict)  # per stage of the run
    dashboard: str | None = None
    inputs: str = ""  # where the inputs are fetched to

    @property
    def outcomes(self) -> list[JobOutcome]:
        return [o for s in self.stages.values() for o in s.outcomes]

    @property
    def failed(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def ok(self) -> bool:
        merges = [s.merge for s in self.stages.values()] + [self.recovered]
        return not self.failed and all(m.ok for m in merges)

    def details(self) -> str:
        lines = [f"  job {o.job_id} failed ({o.error}); log: {o.log}" for o in self.failed]
        if self.recovered.merged:
            lines.insert(0, f"  finished earlier and merged now: {self.recovered.summary()}")
        return "\n".join(lines)

    def summary(self) -> str:
        encoding = self.stages.get("encoding", StageReport("encoding"))
        ran = len(encoding.outcomes)
        parts = [
            f"{self.requested} jobs: {self.already} already done, {ran} run, "
            f"{ran - len(encoding.failed)} succeeded, {len(encoding.failed)} failed"
        ]
        for stage in self.stages.values():
            if stage.jobs:
                parts.append(f"{stage.name}: {stage.merge.summary()}")
        if self.seconds:
            parts.append(
                "time per stage: "
                + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())
            )
        return "; ".join(parts)
