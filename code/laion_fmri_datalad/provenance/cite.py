"""The citation of the checked-out version: CITATION.cff plus tag, commit and dataset id."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..choices import unknown
from ..errors import UsageError
from ..repo.git import git_oneline, git_or_none
from .gitquery import version_tags

FORMATS = ("text", "bibtex", "cff")


@dataclass
class Citation:
    title: str
    authors: list[str]
    version: str
    date: str
    commit: str
    tag: str | None
    dataset_id: str
    license: str
    url: str
    described_as: str  # "v1.0.0" or "3 commits after v1.0.0" or "untagged"

    def text(self) -> str:
        year = self.date[:4] if self.date else "n.d."
        return (
            f"{', '.join(self.authors)} ({year}). {self.title} (Version {self.version}) "
            f"[Data set]. DataLad dataset {self.dataset_id}, "
            f"{'tag ' + self.tag + ', ' if self.tag else ''}commit {self.commit}. {self.url}"
        )

    def bibtex(self) -> str:
        key = "laionfmri" + (self.tag or self.commit[:8]).replace(".", "_")
        fields = {
            "title": "{" + self.title + "}",
            "author": " and ".join("{" + a + "}" for a in self.authors),
            "year": self.date[:4],
            "version": self.version,
            "howpublished": f"DataLad dataset {self.dataset_id}",
            "note": (f"tag {self.tag}, " if self.tag else f"{self.described_as}, ")
            + f"commit {self.commit}",
            "url": self.url,
            "license": self.license,
        }
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields.items() if v)
        return f"@misc{{{key},\n{body}\n}}"


def _authors(data: dict[str, Any]) -> list[str]:
    names = []
    for person in data.get("authors", []):
        if "name" in person:
            names.append(str(person["name"]))
        else:
            names.append(
                " ".join(str(person[k]) for k in ("given-names", "family-names") if k in person)
            )
    return names


def citation(root: Path) -> Citation:
    cff = root / "CITATION.cff"
    if not cff.is_file():
        raise UsageError(
            f"{str(root)!r} has no CITATION.cff; cite from a clone of the LAION-fMRI "
            "superdataset (its top directory)"
        )
    data = yaml.safe_load(cff.read_text())
    commit = git_oneline(root, "rev-parse", "HEAD")
    exact = git_or_none(root, "describe", "--tags", "--exact-match", "HEAD") or None
    tags = version_tags(root, "HEAD")
    if exact:
        described = exact
    elif tags:
        ahead = git_oneline(root, "rev-list", "--count", f"{tags[0]}..HEAD")
        described = f"{ahead} commits after {tags[0]}"
    else:
        described = "untagged"
    dsid = git_oneline(root, "config", "-f", ".datalad/config", "datalad.dataset.id")
    return Citation(
        title=str(data.get("title", "")),
        authors=_authors(data),
        version=str(data.get("version", ""))
        if exact
        else f"{data.get('version', '')}+{commit[:8]}",
        date=str(data.get("date-released", "")),
        commit=commit,
        tag=exact,
        dataset_id=dsid,
        license=str(data.get("license", "")),
        url=str(data.get("url") or data.get("repository-code") or ""),
        described_as=described,
    )


def render(dataset: Path, form: str = "text") -> str:
    """The citation of the version checked out in ``dataset``, as text, BibTeX or CFF."""
    root = Path(dataset)
    if form not in FORMATS:
        raise unknown("citation format", form, FORMATS)
    cite = citation(root)
    if form == "bibtex":
        return cite.bibtex()
    if form == "text":
        return cite.text()
    text = (root / "CITATION.cff").read_text().rstrip("\n")
    extra = [f"# checked out: {cite.described_as}, commit {cite.commit}, dataset {cite.dataset_id}"]
    return text + "\n" + "\n".join(extra)
