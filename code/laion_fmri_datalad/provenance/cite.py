"""The citation of the checked-out version: CITATION.cff plus tag, commit and dataset id.

Every format cites three things, as CITATION.cff says: its ``preferred-citation`` (the VSS
2026 talk, until a paper exists), each of its ``references`` (the GLMsingle paper), and the
exact version of this dataset (tag or commits after one, commit, dataset id)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..checks.choices import unknown
from ..errors import UsageError
from ..repo.git import git_oneline, git_or_none
from ..repo.pins import drifted
from .gitquery import version_tags

FORMATS = ("text", "bibtex", "cff")


@dataclass(frozen=True)
class Work:
    """A work CITATION.cff names besides the dataset: its preferred citation or a reference."""

    kind: str  # CFF type: conference-paper, article, ...
    title: str
    authors: list[str]
    year: str
    venue: str  # the conference or journal
    notes: str
    doi: str
    url: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> Work:
        venue = data.get("journal") or (data.get("conference") or {}).get("name", "")
        if data.get("journal") and data.get("volume"):
            venue += f", {data['volume']}" + (f", {data['start']}" if data.get("start") else "")
        return cls(
            kind=str(data.get("type", "generic")),
            title=str(data.get("title", "")),
            authors=_authors(data),
            year=str(data.get("year", "")),
            venue=str(venue),
            notes=str(data.get("notes", "")),
            doi=str(data.get("doi", "")),
            url=str(data.get("url", "")),
        )

    def text(self) -> str:
        tail = ". ".join(p for p in (self.venue, self.notes) if p)
        link = f"https://doi.org/{self.doi}" if self.doi else self.url
        return f"{_apa_names(self.authors)} ({self.year}). {self.title}. {tail}. {link}".strip()

    def bibtex(self) -> str:
        first = self.authors[0].split(",")[0].split()[-1].lower() if self.authors else "anon"
        word = re.sub(r"[^a-z]", "", self.title.lower().split(":")[0].split(" ")[0]) or "work"
        entry = "article" if self.kind == "article" else "misc"
        fields = {
            "title": "{" + self.title + "}",
            "author": " and ".join(self.authors),
            "year": self.year,
            "journal" if entry == "article" else "howpublished": self.venue,
            "note": self.notes,
            "doi": self.doi,
            "url": self.url,
        }
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields.items() if v)
        return f"@{entry}{{{first}{self.year}{word},\n{body}\n}}"


def _apa_names(authors: list[str]) -> str:
    if len(authors) < 2:
        return "".join(authors)
    return ", ".join(authors[:-1]) + ", & " + authors[-1]


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
    preferred: Work | None = None
    references: tuple[Work, ...] = ()
    identifiers: tuple[str, ...] = ()  # "value (description)" of CITATION.cff's identifiers

    def text(self) -> str:
        year = self.date[:4] if self.date else "n.d."
        dataset = (
            f"{_apa_names(self.authors)} ({year}). {self.title} (Version {self.version}) "
            f"[Data set]. DataLad dataset {self.dataset_id}, "
            f"{'tag ' + self.tag + ', ' if self.tag else ''}commit {self.commit}. {self.url}"
        )
        lines = [f"Preferred citation: {self.preferred.text()}"] if self.preferred else []
        lines += [f"The dataset version used: {dataset}"]
        lines += [f"Also cite: {work.text()}" for work in self.references]
        lines += [f"Licence: {access}" for access in self.access()]
        lines += [f"Where it is: {identifier}" for identifier in self.identifiers]
        return "\n".join(lines)

    def access(self) -> list[str]:
        """The licence of the data and the terms of the images (DESIGN §2.14)."""
        if not self.license:
            return []
        return [
            f"{self.license} for the fMRI data, derivatives and metadata; the stimulus images "
            "only under the authors' data use agreement (laion-fmri-datalad request-access)"
        ]

    def bibtex(self) -> str:
        key = "laionfmri" + (self.tag or self.commit[:8]).replace(".", "_")
        fields = {
            "title": "{" + self.title + "}",
            "author": " and ".join(a if ", " in a else "{" + a + "}" for a in self.authors),
            "year": self.date[:4],
            "version": self.version,
            "howpublished": f"DataLad dataset {self.dataset_id}",
            "note": (f"tag {self.tag}, " if self.tag else f"{self.described_as}, ")
            + f"commit {self.commit}",
            "url": self.url,
            "license": self.license,
        }
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields.items() if v)
        works = [self.preferred] if self.preferred else []
        works += list(self.references)
        return "\n\n".join([*(w.bibtex() for w in works), f"@misc{{{key},\n{body}\n}}"])


def _authors(data: dict[str, Any]) -> list[str]:
    """ "Family, Given" per person (an entity's ``name`` as it is)."""
    names = []
    for person in data.get("authors", []):
        if "name" in person:
            names.append(str(person["name"]))
        else:
            family, given = person.get("family-names", ""), person.get("given-names", "")
            names.append(f"{family}, {given}" if family and given else str(family or given))
    return names


def citation(root: Path) -> Citation:
    cff = root / "CITATION.cff"
    if not cff.is_file():
        raise UsageError(
            f"{str(root)!r} has no CITATION.cff; cite from a clone of the LAION-fMRI "
            "superdataset (its top directory)"
        )
    drift = drifted(root)
    if drift:  # the citation would name a version whose bytes are not the ones here
        raise UsageError("cannot cite: " + drift[0].line(root))
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
        preferred=Work.of(data["preferred-citation"]) if data.get("preferred-citation") else None,
        references=tuple(Work.of(r) for r in data.get("references", [])),
        identifiers=tuple(
            f"{i['value']}"
            + (f" ({' '.join(str(i['description']).split())})" if "description" in i else "")
            for i in data.get("identifiers", [])
            if "value" in i
        ),
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
