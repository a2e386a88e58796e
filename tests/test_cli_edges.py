"""Edges a user hits on a clone: a closed pipe, the names errors use, counts beside their
rows, help beside the docs, and docs that name only what users have."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from laion_fmri_datalad.errors import UsageError

REPOSITORY = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "laion_fmri_datalad.cli"]
DOCUMENTS = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]


def printing_commands(clone: Path) -> dict[str, list[str]]:
    d = ["-d", str(clone)]
    return {
        "help": ["--help"],
        "info": ["info", *d],
        "info --subject": ["info", "--subject", "sub-01", *d],
        "get --dry-run": ["get", "--subject", "01", "--ses", "01", "--dry-run", *d],
        "download --dry-run": ["download", "--subject", "01", "--dry-run", *d],
        "cache info": ["cache", "info", *d],
        "splits list help": ["splits", "--help"],
        "analysis help": ["analysis", "--help"],
    }


@pytest.mark.parametrize(
    "name",
    list(printing_commands(Path("x"))),
)
def test_a_closed_pipe_ends_a_command_without_a_traceback(clone: Path, name: str) -> None:
    """Its reader gone before the first line (``| head -0``): the command stops quietly,
    with the status a tool that SIGPIPE ended has, or 0 if all fitted in the pipe first."""
    command = [*CLI, *printing_commands(clone)[name]]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the interpreter has even started: every write fails
    errors = process.stderr.read()
    code = process.wait(timeout=300)
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors
    assert code in (0, 141), (code, errors)
    piped = subprocess.run(
        ["bash", "-c", " ".join(f"'{a}'" for a in command) + " | head -1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in piped.stderr, piped.stderr
    assert piped.stdout.count("\n") == 1


def test_errors_name_the_option_in_the_cli_and_the_parameter_in_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAION_FMRI_DATASET", raising=False)
    done = subprocess.run([*CLI, "info"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "-d/--dataset PATH" in done.stderr
    assert "dataset=" not in done.stderr
    monkeypatch.chdir(tmp_path)
    from laion_fmri_datalad.loaders import load_subject

    with pytest.raises(UsageError, match="pass dataset=PATH") as err:
        load_subject("sub-01")
    assert "--dataset" not in str(err.value)


def test_info_counts_the_session_rows_it_shows(clone: Path) -> None:
    done = subprocess.run(
        [*CLI, "info", "--subject", "sub-01", "-d", str(clone)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    head = next(line for line in lines if line.startswith("sub-01: "))
    counted = re.match(r"sub-01: (\d+) sessions with betas .*?(?:; (\d+) more: (.*))?$", head)
    assert counted is not None, head
    shown = {m.group(1) for line in lines if (m := re.match(r"^  (ses-\S+) ", line))}
    more = counted.group(3).split() if counted.group(2) else []
    assert len(more) == int(counted.group(2) or 0)
    assert len(shown) == int(counted.group(1)) + len(more), (head, sorted(shown))


def test_analysis_help_says_what_the_docs_say() -> None:
    done = subprocess.run([*CLI, "analysis", "--help"], capture_output=True, text=True)
    assert "ephemeral" not in done.stdout  # docs/analyses.md: jobs share a fetched copy
    assert "one clone of their own" in " ".join(done.stdout.split())
    assert "as hard links" in (REPOSITORY / "docs/analyses.md").read_text()


@pytest.mark.parametrize("document", DOCUMENTS, ids=[d.name for d in DOCUMENTS])
def test_docs_name_only_what_users_have(document: Path) -> None:
    """No design notes users lack (``DESIGN §``), the five subjects by name (not a range
    that suggests seven), OOD spelled out where it is used, and every relative link to a
    file of the repository."""
    text = document.read_text()
    assert "DESIGN" not in text and "../shared" not in text
    assert not re.search(r"sub-01`? *(\.\.\.|…) *`?sub-07", text)
    if re.search(r"\bOOD\b", text):
        assert "out-of-distribution" in text
    for target in re.findall(r"\]\(([^)#\s]+)", text):
        if not re.match(r"[a-z]+:", target):
            assert (document.parent / target).exists(), target
