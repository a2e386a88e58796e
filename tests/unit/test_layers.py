"""The import rules of ARCHITECTURE.md, checked on the source: one boundary to git,
git-annex and DataLad, and a product that never needs the development server."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "code" / "laion_fmri_datalad"
MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (at any depth in the file)."""
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    )
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            names.add(stem)
            names.update(f"{stem}.{alias.name}" for alias in node.names)
    return names


def within(path: Path, *folders: str) -> bool:
    return any(PACKAGE / folder in path.parents for folder in folders)


def test_the_rules_see_every_module() -> None:
    assert len(MODULES) > 60
    assert "laion_fmri_datalad.repo.git" in imported(PACKAGE / "builder" / "gitplumbing.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_boundary_runs_git_and_datalad(path: Path) -> None:
    names = imported(path)
    if not within(path, "repo", "devserver"):
        assert "subprocess" not in names, "run git through laion_fmri_datalad.repo"
    if not within(path, "repo"):
        assert not any(n == "datalad" or n.startswith("datalad.") for n in names), (
            "use laion_fmri_datalad.repo.datalad"
        )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_product_never_imports_the_development_server(path: Path) -> None:
    if within(path, "devserver", "cli") or path == PACKAGE / "entry.py":  # entry starts cli
        return
    names = imported(path)
    for layer in ("devserver", "cli"):
        assert not any(n.startswith(f"laion_fmri_datalad.{layer}") for n in names), layer
    assert not names & {"boto3", "matplotlib"}


def test_the_command_line_imports_the_development_server_only_in_handlers() -> None:
    tree = ast.parse((PACKAGE / "cli" / "devserver.py").read_text())
    top = {
        node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert not any("devserver" in name for name in top)


ENVIRON_WRITES = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"}


def _writes_environ(tree: ast.AST) -> list[int]:
    """Lines that change ``os.environ``: item assignment or deletion, or a mutating method."""

    def is_environ(node: ast.AST) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "environ"

    lines: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.AugAssign):
            targets = [node.target]
        else:
            targets = []
        if any(isinstance(t, ast.Subscript) and is_environ(t.value) for t in targets):
            lines.append(targets[0].lineno)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ENVIRON_WRITES
            and is_environ(node.func.value)
        ):
            lines.append(node.lineno)
        if isinstance(node, ast.Attribute) and node.attr == "putenv":
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_but_the_command_lines_main_changes_the_process_environment(
    path: Path,
) -> None:
    """Each git, git-annex and DataLad call gets its environment as a value
    (``repo.env.tool_env``); only ``cli.main`` sets its own process up, once."""
    if path == PACKAGE / "cli" / "__init__.py":
        return
    tree = ast.parse(path.read_text())
    # a program's source held in a string (devserver/killpoints.py's child) is its own
    assert _writes_environ(tree) == [], "pass an environment to the call instead"


def test_the_environment_rule_sees_each_kind_of_write() -> None:
    source = (
        "import os\nos.environ['A'] = '1'\ndel os.environ['A']\nos.environ.update({})\n"
        "os.environ.setdefault('B', '2')\nos.putenv('C', '3')\nx = os.environ.get('D')\n"
    )
    assert _writes_environ(ast.parse(source)) == [2, 3, 4, 5, 6]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_500_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 500, "split it along its concepts"


MIXINS = ("anatomy", "roidata", "trialstimuli", "trials", "torchdata", "types", "nifti")


@pytest.mark.parametrize("name", MIXINS)
def test_the_subjects_helpers_never_import_it_back(name: str) -> None:
    """Subject's mixins and the namespaces it hands out type against ``types.TrialSource``;
    a helper that imports the class it helps is a circle waiting for a lazy import."""
    names = imported(PACKAGE / "loaders" / "api" / f"{name}.py")
    assert "laion_fmri_datalad.loaders.api.subject" not in names


def test_dask_is_imported_by_one_module() -> None:
    """The analysis starts clusters and waits on futures in ``analysis/cluster.py`` alone."""
    users = set()
    for path in MODULES:
        names = imported(path)
        text = path.read_text()
        if any(n.split(".")[0] in {"dask", "distributed", "dask_jobqueue"} for n in names) or (
            'import_module("distributed")' in text or 'import_module("dask' in text
        ):
            users.add(str(path.relative_to(PACKAGE)))
    assert users == {"analysis/cluster.py"}


def test_every_environment_variable_has_its_one_home() -> None:
    """Each ``LAION_FMRI_*`` name in the source is defined in ``config/variables.py`` (the
    docs' table is made from it) and spelled out nowhere else but in prose."""
    import re

    from laion_fmri_datalad.config import VARIABLES

    known = {v.name for v in VARIABLES}
    home = PACKAGE / "config" / "variables.py"
    found: dict[str, set[str]] = {}
    for path in MODULES:
        for name in re.findall(r"LAION_FMRI_[A-Z_]+", path.read_text()):
            found.setdefault(name, set()).add(str(path.relative_to(PACKAGE)))
        if path != home:
            assert not re.search(r'= "LAION_FMRI_', path.read_text()), path
    assert set(found) == known
