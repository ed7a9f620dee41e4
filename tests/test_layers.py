"""One direction through the code: the import contracts of ``pyproject.toml`` (import-linter) hold, and no two
modules import each other, directly or through others (grimp's graph of the packages' imports, lazy ones included)."""

import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kg", "api", "ontology", "shapes")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=folder, capture_output=True, text=True, timeout=300,
                          check=False, env={"PYTHONPATH": str(folder), "PATH": ""})


def test_every_import_contract_is_kept() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0 and "5 kept, 0 broken" in run.stdout, run.stdout[-3000:]


def test_an_import_up_from_the_core_breaks_its_contract(tmp_path: Path) -> None:
    """The check can fail: the data model importing the web package is reported with its chain."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("static", "imports", "sources", "node_modules"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / "kg" / "model.py").open("a", encoding="utf-8") as model:
        model.write("\nimport api.app  # noqa\n")
    run = lint_imports(tmp_path)
    assert run.returncode == 1 and "The core imports nothing above it BROKEN" in run.stdout, run.stdout[-3000:]
    assert "kg.model -> api.app" in run.stdout


def test_no_two_modules_import_each_other() -> None:
    graph = grimp.build_graph(*PACKAGES)
    cycles = sorted({tuple(sorted((a, b))) for a in graph.modules for b in graph.find_modules_directly_imported_by(a)
                     if graph.chain_exists(importer=b, imported=a)})
    assert cycles == []
