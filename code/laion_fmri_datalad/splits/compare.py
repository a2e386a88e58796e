"""How far the regenerated split set is from the published one, per pool and split.

Two splits are *identical* when they have the same training and the same test images
(order and JSON layout aside; parameters are compared apart). Otherwise the report gives
the Jaccard index of the test sets and how many images moved: published test images that
the regenerated split trains on, and the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..layout.names import SPLITS
from ..loaders.clone.content import Content
from .api import (
    PUBLISHED,
    REGENERATED,
    SPLIT_ORDER,
    Split,
    pools_in,
    read_split,
    resolve_source,
    set_directory,
)


@dataclass(frozen=True)
class SplitComparison:
    pool: str
    name: str
    status: str  # identical, differs, only published, only regenerated
    n_test: tuple[int, int] = (0, 0)  # published, regenerated
    jaccard: float = 1.0  # of the test sets
    to_train: int = 0  # published test images that regenerated trains on
    to_test: int = 0  # published training images that regenerated tests on
    other_images: int = 0  # images in one split's pool and not in the other's
    same_params: bool = True

    def line(self) -> str:
        head = f"  {self.name:<13} "
        if self.status.startswith("only"):
            return head + self.status
        if self.status == "identical":
            return head + "identical" + ("" if self.same_params else " (parameters differ)")
        text = (
            f"differs: test-set Jaccard {self.jaccard:.3f}, test {self.n_test[0]} published "
            f"/ {self.n_test[1]} regenerated, {self.to_train} moved to train, "
            f"{self.to_test} moved to test"
        )
        if self.other_images:
            text += f", {self.other_images} images in one pool only"
        return head + text


def compare_split(published: Split, regenerated: Split) -> SplitComparison:
    """The first variants of two splits of one pool, compared."""
    a, b = published.variants[0], regenerated.variants[0]
    a_train, a_test, b_train, b_test = map(set, (a.train_ids, a.test_ids, b.train_ids, b.test_ids))
    union = a_test | b_test
    jaccard = len(a_test & b_test) / len(union) if union else 1.0
    identical = a_train == b_train and a_test == b_test
    return SplitComparison(
        published.pool,
        published.name,
        "identical" if identical else "differs",
        (len(a_test), len(b_test)),
        jaccard,
        len(a_test & b_train),
        len(a_train & b_test),
        len((a_train | a_test) ^ (b_train | b_test)),
        published.params == regenerated.params,
    )


@dataclass
class CompareReport:
    items: list[SplitComparison] = field(default_factory=list)
    strict: bool = False  # ok only when every split is identical

    @property
    def ok(self) -> bool:
        return not self.strict or all(c.status == "identical" for c in self.items)

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.items)

    def details(self) -> str:
        lines: list[str] = []
        for pool in dict.fromkeys(c.pool for c in self.items):
            lines.append(f"{pool}:")
            lines += [c.line() for c in self.items if c.pool == pool]
        return "\n".join(lines)

    def summary(self) -> str:
        differing = [c for c in self.items if c.status == "differs"]
        text = (
            f"{self.count('identical')} of {len(self.items)} splits identical, "
            f"{len(differing)} differ"
        )
        if differing:
            mean = sum(c.jaccard for c in differing) / len(differing)
            text += f" (mean test-set Jaccard {mean:.3f})"
        for status in ("only published", "only regenerated"):
            if self.count(status):
                text += f", {self.count(status)} {status}"
        return text


def _files(directory: Path) -> dict[tuple[str, str], Path]:
    return {
        (pool, path.stem): path
        for pool in pools_in(directory)
        for path in sorted((directory / pool).glob("*.json"))
    }


def compare_sets(
    published_dir: Path, regenerated_dir: Path, strict: bool = False, content: Content | None = None
) -> CompareReport:
    """Compare two split set directories (``<dir>/<pool>/<split>.json``)."""
    published, regenerated = _files(published_dir), _files(regenerated_dir)
    if content is not None:
        content.ensure_present(list(published.values()))
    report = CompareReport(strict=strict)
    pools = sorted({pool for pool, _ in published} | {pool for pool, _ in regenerated})
    for pool in pools:
        names = [k[1] for k in published if k[0] == pool]
        names += [k[1] for k in regenerated if k[0] == pool and k not in published]
        for name in _ordered(names):
            a, b = published.get((pool, name)), regenerated.get((pool, name))
            if a is None:
                report.items.append(SplitComparison(pool, name, "only regenerated"))
            elif b is None:
                report.items.append(SplitComparison(pool, name, "only published"))
            else:
                report.items.append(compare_split(read_split(a), read_split(b)))
    return report


def _ordered(names: list[str]) -> list[str]:
    known = [n for n in SPLIT_ORDER if n in names]
    return known + sorted(set(names) - set(known))


def compare(dataset: Path, strict: bool = False) -> CompareReport:
    """The regenerated set of a superdataset against its published set."""
    content = Content(Path(dataset).absolute())
    root = content.ensure_installed(SPLITS)
    for source in (PUBLISHED, REGENERATED):
        resolve_source(root, source)  # an absent set: an error saying how to get it
    report = compare_sets(
        set_directory(root, PUBLISHED), set_directory(root, REGENERATED), strict, content
    )
    if not report.items:
        raise UsageError(f"no splits to compare in {root}")
    return report
